//! The python tool's round trip through the agent's tool path, as a user gets it: the model's
//! tool call arrives, the agent runs the risk analysis, applies the approval policy (`on-risk`),
//! runs the code in the session's warm sandboxed interpreter, and the observation comes back
//! (timed from `ToolCallStarted` to `ToolCallFinished`). Also: the first call of a new session
//! (cold sandboxed interpreter start, through the same path), and the risk analysis alone.
//! Every call is checked: the observation must hold the value the code computed.
//!
//! `cargo bench -p llm-repl-tools --bench agent_tool_path`

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../tests/common/agent.rs"]
mod agent;

use std::time::Instant;

use llm_repl_core::config::{SandboxConfig, ToolsConfig};
use llm_repl_protocol::{Op, ToolStatus};
use serde_json::json;

const WARM_CALLS: u64 = 300;
const COLD_CALLS: u64 = 15;

fn summary(name: &str, mut ms: Vec<f64>) {
    ms.sort_by(f64::total_cmp);
    let median = ms[ms.len() / 2];
    let p90 = ms[ms.len() * 9 / 10];
    println!(
        "{name}: median {median:.3} ms, p90 {p90:.3} ms, min {:.3} ms ({} runs)",
        ms[0],
        ms.len()
    );
}

fn main() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let set = llm_repl_tools::toolset(&ToolsConfig::default(), &SandboxConfig::default()).unwrap();
    rt.block_on(async {
        let mut h = agent::agent(set.tools.clone(), dir.path(), false);
        // Cold: the first call of each new session starts its sandboxed interpreter.
        let mut cold = Vec::new();
        for i in 0..COLD_CALLS {
            h.ops.send(Op::NewSession).unwrap();
            let seen = agent::call(&mut h, "python", &json!({"code": format!("{i} * 7")})).await;
            assert_eq!(seen.status, ToolStatus::Ok, "{}", seen.content);
            assert!(seen.content.contains(&format!("Out: {}", i * 7)), "{}", seen.content);
            cold.push(seen.tool_path.as_secs_f64() * 1e3);
        }
        // Warm: the same session's interpreter, call after call.
        let mut warm = Vec::new();
        for i in 0..WARM_CALLS {
            let n = 10 + i;
            let code = format!("print(sum(range({n})))");
            let seen = agent::call(&mut h, "python", &json!({ "code": code })).await;
            assert_eq!(seen.status, ToolStatus::Ok, "{}", seen.content);
            assert!(!seen.approval_requested);
            let want = (n * (n - 1) / 2).to_string();
            assert!(seen.content.contains(&want), "{want} not in {}", seen.content);
            if i >= 10 {
                warm.push(seen.tool_path.as_secs_f64() * 1e3);
            }
        }
        summary(
            "python tool path through the agent, warm (risk analysis + approval + sandboxed interpreter + observation)",
            warm,
        );
        summary(
            "python tool path through the agent, cold (new session: sandboxed interpreter start)",
            cold,
        );
    });

    // The risk analysis alone.
    let typical = "import pandas as pd\nimport math\ndf = pd.read_csv('data.csv')\n\
                   df['y'] = df['x'].apply(math.sqrt)\nprint(df.describe())\n\
                   with open('out.txt', 'w') as f:\n    f.write(str(len(df)))\n";
    let big: String = (0..2500)
        .map(|i| format!("value_{i} = compute({i}, name='item {i}')\n"))
        .collect();
    for (name, code, runs) in [
        ("risk analysis, typical 7-line cell", typical, 2000u32),
        ("risk analysis, 100 KB cell", big.as_str(), 50),
    ] {
        let a = llm_repl_tools::analyze(code);
        assert!(a.syntax_error.is_none());
        let mut ms = Vec::new();
        for _ in 0..runs {
            let t = Instant::now();
            let a = llm_repl_tools::analyze(std::hint::black_box(code));
            ms.push(t.elapsed().as_secs_f64() * 1e3);
            std::hint::black_box(a);
        }
        println!("({} bytes)", code.len());
        summary(name, ms);
    }
}
