//! Where things live on disk: the platform's config, data and state directories.

use std::path::PathBuf;

use directories::ProjectDirs;

fn dirs() -> Option<ProjectDirs> {
    ProjectDirs::from("", "", "llm-repl")
}

/// The default config file, e.g. `~/.config/llm-repl/config.toml`.
pub fn config_file() -> PathBuf {
    dirs().map_or_else(
        || PathBuf::from("llm-repl.toml"),
        |d| d.config_dir().join("config.toml"),
    )
}

/// Where sessions are stored, unless the config says otherwise.
pub fn data_dir() -> PathBuf {
    dirs().map_or_else(
        || PathBuf::from(".llm-repl"),
        |d| d.data_dir().to_path_buf(),
    )
}

/// Where the log file goes.
pub fn log_dir() -> PathBuf {
    dirs().map_or_else(
        || PathBuf::from(".llm-repl"),
        |d| d.state_dir().unwrap_or(d.data_local_dir()).to_path_buf(),
    )
}

/// The paths, for the end of `--help`.
pub fn help_footer() -> String {
    format!(
        "Files:\n  config  {}\n  data    {}\n  logs    {}/llm-repl.log (RUST_LOG=debug for more)\n\n\
         With no command, llm-repl opens the full-screen interface. Without a configured \
         provider or key it uses the offline mock model.",
        config_file().display(),
        data_dir().display(),
        log_dir().display()
    )
}
