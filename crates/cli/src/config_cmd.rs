//! `llm-repl config path|show|init`.

use anyhow::Context;

use crate::settings::{DEFAULT_CONFIG, Settings};
use crate::{Global, paths};

/// `config path`: only the config file's path, so `$(llm-repl config path)` works; `--all`
/// prints the labelled list of the config, data and log locations.
pub fn path(global: &Global, all: bool) {
    let config = global.config.clone().unwrap_or_else(paths::config_file);
    if !all {
        println!("{}", config.display());
        return;
    }
    let exists = if config.exists() {
        ""
    } else {
        "  (not created yet: llm-repl config init)"
    };
    println!("config  {}{exists}", config.display());
    println!("data    {}", paths::data_dir().display());
    println!(
        "logs    {}",
        paths::log_dir().join("llm-repl.log").display()
    );
}

pub fn show(global: &Global) -> anyhow::Result<()> {
    let settings = Settings::load(global)?;
    match &settings.source {
        Some(p) => println!("# from {}", p.display()),
        None => println!("# no config file: built-in defaults"),
    }
    println!("# provider in use: {}", settings.provider);
    // Keys are only ever named by their variable, so the config holds nothing secret.
    let text = toml::to_string_pretty(&settings.config).context("cannot print the config")?;
    print!("{text}");
    Ok(())
}

pub fn init(global: &Global, force: bool) -> anyhow::Result<()> {
    let path = global.config.clone().unwrap_or_else(paths::config_file);
    if path.exists() && !force {
        anyhow::bail!(
            "{} already exists; use --force to overwrite it with the defaults",
            path.display()
        );
    }
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).with_context(|| format!("cannot create {}", dir.display()))?;
    }
    std::fs::write(&path, DEFAULT_CONFIG)
        .with_context(|| format!("cannot write {}", path.display()))?;
    println!("wrote {}", path.display());
    Ok(())
}
