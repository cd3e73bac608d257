//! What a protected name covers in a directory: the name itself, the target of a symlink
//! when inside, and the git dir a `.git` file names (with its `commondir`). Shared by the mount
//! plan (bound read-only) and the file tools (refused), so both protect the same paths.

use std::path::{Path, PathBuf};

/// The protected paths for `name` in `dir`: the name itself when it exists (without following
/// a symlink out), the target of a symlink when that target is inside `dir`, and for a git
/// file (`gitdir: <path>`, a linked worktree or a bare repository beside it) the git dir it
/// names and that dir's `commondir` (where hooks and config live) when inside `dir`.
pub fn protected_paths(dir: &Path, name: &Path) -> Vec<PathBuf> {
    let p = dir.join(name);
    let Ok(meta) = p.symlink_metadata() else {
        return Vec::new();
    };
    let inside = |q: PathBuf| match q.canonicalize() {
        Ok(real) if real.starts_with(dir) && real != dir => Some(real),
        _ => None,
    };
    if meta.file_type().is_symlink() {
        return inside(p).into_iter().collect();
    }
    let mut out = vec![p.clone()];
    if meta.is_file()
        && let Some(git_dir) = pointed_to(&p, "gitdir:").and_then(inside)
    {
        let common = pointed_to(&git_dir.join("commondir"), "").and_then(inside);
        out.push(git_dir);
        out.extend(common);
    }
    out.sort();
    out.dedup();
    out
}

/// The path a small git pointer file names after `prefix` (`gitdir: ../x`, or a `commondir`
/// file's bare path), relative to the file's directory.
fn pointed_to(file: &Path, prefix: &str) -> Option<PathBuf> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(file)
        .ok()?
        .take(4096)
        .read_to_end(&mut buf)
        .ok()?;
    let text = std::str::from_utf8(&buf).ok()?;
    let rest = text.lines().next()?.strip_prefix(prefix)?.trim();
    if rest.is_empty() {
        return None;
    }
    Some(file.parent()?.join(rest))
}
