//! `llm-repl config path` prints only the config file's path, so `$(llm-repl config path)`
//! works; `--all` prints the labelled list (issue 11).

use llm_repl_e2e::home::TestHome;

#[test]
fn config_path_prints_one_path_and_all_prints_the_list() {
    let home = TestHome::new("http://127.0.0.1:9", "");
    let out = home.command().args(["config", "path"]).output().unwrap();
    assert!(out.status.success());
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(stdout, format!("{}\n", home.config().display()));
    let out = home
        .command()
        .args(["config", "path", "--all"])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.starts_with("config  "), "{stdout}");
    assert!(
        stdout.contains("\ndata    ") && stdout.contains("\nlogs    "),
        "{stdout}"
    );
}
