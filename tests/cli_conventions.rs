//! The CLI behaves like the tools its users know: a closed pipe is not a crash, output streams
//! line by line off a terminal, colour follows --color and NO_COLOR, -q keeps only the verdict,
//! JSON outputs carry a schema version, completions and man pages generate.

use std::path::PathBuf;
use std::process::Stdio;

fn example() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("inventory/example.yml")
}

/// Run minicloud with stdout a pipe whose reader is already gone (as after `| head -1` has
/// read its line): returns (exit code, stderr).
fn with_stdout_closed(args: &[&str]) -> (i32, String) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("minicloud"))
        .args(args)
        .env_remove("MINICLOUD_INVENTORY")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // The read end closed before minicloud writes anything: its first write gets EPIPE.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn a_closed_stdout_ends_quietly_with_the_commands_code() {
    let inventory = example();
    let inventory = inventory.to_str().unwrap();
    for args in [
        vec![
            "render",
            "-i",
            inventory,
            "--host",
            "lb1",
            "--file",
            "/etc/haproxy/haproxy.cfg",
        ],
        vec!["render", "-i", inventory, "--host", "lb1"],
        vec!["validate", "-i", inventory],
        vec!["secrets", "list", "-i", inventory],
        vec!["--help"],
    ] {
        let (code, stderr) = with_stdout_closed(&args);
        assert_eq!(code, 0, "minicloud {args:?}: {stderr}");
        assert!(
            !stderr.contains("panicked") && !stderr.contains("Broken pipe"),
            "minicloud {args:?}: {stderr}"
        );
    }
    // An error stays an error (exit 2, said on stderr), stdout closed or not.
    let (code, stderr) = with_stdout_closed(&["validate", "-i", "/nonexistent/inventory.yml"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("error:"), "{stderr}");
}
