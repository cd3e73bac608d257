//! Confining file paths to the workspace.
//!
//! Every path a model names is resolved (symlinks and `..` included) and must land inside the
//! canonical workspace; anything else is refused with a message the model can act on.

use std::path::{Component, Path, PathBuf};

/// The workspace root, canonicalized.
pub fn root(workdir: &Path) -> Result<PathBuf, String> {
    workdir
        .canonicalize()
        .map_err(|e| format!("the workspace {} is not usable: {e}", workdir.display()))
}

/// Resolves an existing `path` (relative to the workspace, or absolute) and checks that it stays
/// inside the workspace after following every symlink.
pub fn resolve_existing(workdir: &Path, path: &str) -> Result<PathBuf, String> {
    let root = root(workdir)?;
    let joined = root.join(path);
    let real = joined.canonicalize().map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => format!("{path}: no such file or directory"),
        _ => format!("{path}: {e}"),
    })?;
    if !real.starts_with(&root) {
        return Err(format!(
            "{path}: refused: it resolves to {} which is outside the workspace {}",
            real.display(),
            root.display()
        ));
    }
    Ok(real)
}

/// Resolves a path that may not exist yet (a file to create): its parent must exist inside the
/// workspace and the name must be a plain file name.
pub fn resolve_new(workdir: &Path, path: &str) -> Result<PathBuf, String> {
    let rel = Path::new(path);
    let name = match rel.components().next_back() {
        Some(Component::Normal(n)) => n.to_owned(),
        _ => return Err(format!("{path}: not a file name")),
    };
    let parent = rel.parent().filter(|p| !p.as_os_str().is_empty());
    let dir = resolve_existing(workdir, parent.map_or(".", |p| p.to_str().unwrap_or("\0")))?;
    let target = dir.join(name);
    if let Ok(meta) = target.symlink_metadata()
        && meta.file_type().is_symlink()
    {
        // An existing symlink must itself resolve inside.
        return resolve_existing(workdir, path);
    }
    Ok(target)
}

/// Resolves a file path to create or overwrite, allowing missing parent directories: the
/// deepest existing ancestor must be inside the workspace and the rest plain names. Returns the
/// target and the directories to create.
pub fn resolve_for_write(workdir: &Path, path: &str) -> Result<PathBuf, String> {
    let root = root(workdir)?;
    let rel = Path::new(path);
    let joined = if rel.is_absolute() {
        rel.to_path_buf()
    } else {
        root.join(rel)
    };
    let mut existing = joined.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    while existing.symlink_metadata().is_err() {
        match (existing.file_name(), existing.parent()) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent;
            }
            _ => return Err(format!("{path}: not a usable path")),
        }
    }
    if rel.components().any(|c| matches!(c, Component::ParentDir)) && !rest.is_empty() {
        return Err(format!("{path}: refused: `..` in a path to create"));
    }
    let real = existing
        .canonicalize()
        .map_err(|e| format!("{path}: {e}"))?;
    if !real.starts_with(&root) {
        return Err(format!(
            "{path}: refused: it resolves to {} which is outside the workspace {}",
            real.display(),
            root.display()
        ));
    }
    let mut target = real;
    for name in rest.iter().rev() {
        target.push(name);
    }
    if target == root {
        return Err(format!("{path}: is the workspace itself"));
    }
    Ok(target)
}

/// The path as shown to the model: relative to the workspace when inside it.
pub fn display(workdir: &Path, path: &Path) -> String {
    match root(workdir) {
        Ok(root) => match path.strip_prefix(&root) {
            Ok(rel) if rel.as_os_str().is_empty() => ".".into(),
            Ok(rel) => rel.display().to_string(),
            Err(_) => path.display().to_string(),
        },
        Err(_) => path.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inside_paths_resolve_and_escapes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir(&ws).unwrap();
        std::fs::write(ws.join("a.txt"), "a").unwrap();
        std::fs::write(dir.path().join("secret"), "s").unwrap();
        std::os::unix::fs::symlink(dir.path().join("secret"), ws.join("link")).unwrap();

        assert!(resolve_existing(&ws, "a.txt").is_ok());
        assert!(resolve_existing(&ws, "./sub/../a.txt").is_err()); // sub does not exist
        let e = resolve_existing(&ws, "../secret").unwrap_err();
        assert!(e.contains("outside the workspace"), "{e}");
        let e = resolve_existing(&ws, "link").unwrap_err();
        assert!(e.contains("outside the workspace"), "{e}");
        let e = resolve_existing(&ws, "/etc/passwd").unwrap_err();
        assert!(e.contains("outside the workspace"), "{e}");
        let e = resolve_existing(&ws, "nope").unwrap_err();
        assert!(e.contains("no such file"), "{e}");

        assert_eq!(
            resolve_new(&ws, "new.txt").unwrap(),
            ws.canonicalize().unwrap().join("new.txt")
        );
        assert!(resolve_new(&ws, "../new.txt").is_err());
        assert!(resolve_new(&ws, "link").is_err());
        assert!(resolve_new(&ws, "..").is_err());

        let root = ws.canonicalize().unwrap();
        assert_eq!(
            resolve_for_write(&ws, "d/e/f.txt").unwrap(),
            root.join("d/e/f.txt")
        );
        assert_eq!(resolve_for_write(&ws, "a.txt").unwrap(), root.join("a.txt"));
        assert!(resolve_for_write(&ws, "../x.txt").is_err());
        assert!(resolve_for_write(&ws, "d/../../x.txt").is_err());
        assert!(resolve_for_write(&ws, "link").is_err());
        assert!(resolve_for_write(&ws, "/tmp/x.txt").is_err());
        assert!(resolve_for_write(&ws, ".").is_err());
    }
}
