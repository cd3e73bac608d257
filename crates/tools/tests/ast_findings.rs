//! The AST risk analysis on a table of safe and risky snippets, and the approval it implies.

#![allow(clippy::unwrap_used)]

use llm_repl_protocol::RiskLevel;

/// (snippet, expected finding codes, sorted)
const TABLE: &[(&str, &[&str])] = &[
    ("print(sum(range(10)))", &[]),
    ("import math, json\nmath.sqrt(json.loads('4'))", &[]),
    ("with open('data.csv') as f:\n    rows = f.read()", &[]),
    ("s = 'a-b'\ns.replace('-', '+')", &[]),
    (
        "import subprocess\nsubprocess.run(['ls'])",
        &["import-subprocess"],
    ),
    ("from subprocess import Popen as P", &["import-subprocess"]),
    ("import os\nos.system('rm -rf /')", &["os-system"]),
    ("from os import system\nsystem('id')", &["os-system"]),
    ("import os\nos.execv('/bin/sh', ['sh'])", &["os-exec"]),
    ("import socket\nsocket.socket()", &["import-socket"]),
    ("import ctypes", &["import-ctypes"]),
    (
        "import shutil\nshutil.rmtree('x')",
        &["import-shutil", "shutil-rmtree"],
    ),
    ("open('out.txt', 'w').write('x')", &["open-write"]),
    ("open('log', mode='a')", &["open-write"]),
    ("eval(input())", &["eval"]),
    ("exec('x = 1')", &["exec"]),
    ("m = __import__('o' + 's')", &["dunder-import"]),
    (
        "import importlib\nimportlib.import_module('os')",
        &["dynamic-import", "import-importlib"],
    ),
    ("import os\nos.remove('a')", &["delete-file"]),
    (
        "from pathlib import Path\nPath('a').write_text('x')",
        &["path-write"],
    ),
    (
        "import urllib.request\nurllib.request.urlopen('http://x')",
        &["import-urllib-request"],
    ),
    ("import os\nos.kill(1, 9)", &["os-kill"]),
    (
        "from pathlib import Path\nPath('a').open('w')",
        &["open-write"],
    ),
    ("from pathlib import Path\nPath('a').open()", &[]),
    (
        "import zipfile\nzipfile.ZipFile('a.zip').open('data.txt')",
        &[],
    ),
    ("df.rename(columns={})\ntext.replace('a', 'b')", &[]),
];

#[test]
fn findings_table() {
    for (code, want) in TABLE {
        let a = llm_repl_tools::analyze(code);
        assert!(a.syntax_error.is_none(), "{code}: {:?}", a.syntax_error);
        let mut got: Vec<&str> = a.findings.iter().map(|f| f.code.as_str()).collect();
        got.sort();
        got.dedup();
        assert_eq!(got, *want, "{code}");
        for f in &a.findings {
            assert!(f.line.is_some(), "{code}: {f:?}");
        }
    }
}

#[test]
fn levels_and_approval() {
    let a = llm_repl_tools::analyze("import os\nx = 1\nos.system('ls')");
    assert_eq!(a.findings[0].level, RiskLevel::High);
    assert_eq!(a.findings[0].line, Some(3));
    let a = llm_repl_tools::analyze("import shutil");
    assert_eq!(a.findings[0].level, RiskLevel::Low);
}

#[test]
fn syntax_error_position() {
    let a = llm_repl_tools::analyze("x = (1,\ny = 2");
    let se = a.syntax_error.unwrap();
    // The parser reports where the statement went wrong (CPython: where the bracket opened).
    assert!(se.line == 1 || se.line == 2, "{se:?}");
    assert!(se.to_string().starts_with("SyntaxError:"), "{se}");
}
