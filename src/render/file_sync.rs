//! What the file sync key may do on the app host that receives a push: rsync into one of the
//! synced folders, nothing else (a forced command in front of Debian's rrsync).
//!
//! Every app host holds the sync key's private half (its lsyncd pushes with it), so whatever
//! the key may do on one host, root on any other app host may do there too. Without a forced
//! command that was a root shell: root on one app host was root on all of them.

/// The forced command of the sync key on every app host (`command=` in authorized_keys2).
pub const RECEIVE_COMMAND: &str = "/usr/local/sbin/minicloud-file-sync-receive";

/// Debian's rsync package ships rrsync here (bookworm and trixie); it is a python3 script.
pub const RRSYNC: &str = "/usr/bin/rrsync";

/// The authorized_keys line of the sync key: pushes only, only from the peers' backend
/// addresses, with no pty, forwarding, agent or X11 (`restrict`).
pub fn authorized_key(peers: &[String], public_key: &str) -> String {
    format!(
        "command=\"{RECEIVE_COMMAND}\",from=\"{}\",restrict {public_key}",
        peers.join(",")
    )
}

/// The forced command script for the synced `folders` (absolute, without a trailing slash;
/// validate.rs keeps them to letters, digits, `-`, `_`, `.` and `/`), handing accepted pushes
/// to `rrsync`.
///
/// rrsync validates rsync's server options and keeps a transfer inside ONE directory, while
/// minicloud syncs several folders with one key. Giving rrsync a root of `/` would let the key
/// write anywhere (/etc, /root/.ssh); one key pair per folder would multiply secrets and
/// authorized_keys lines. So this script picks rrsync's root from the push's target, which must
/// be exactly one of the folders (what lsyncd's `target = "host:FOLDER/"` sends), and hands
/// rrsync the rest of the command with the target dropped: rrsync then receives into `.` of
/// that root. Anything else is refused before rrsync runs: other programs, `--sender` (reading),
/// other or extra paths, `..`, and any character outside what rsync's own command line for
/// these folders uses (so no quoting, shell operator or glob ever gets interpreted).
pub fn receive_script(folders: &[String], rrsync: &str) -> String {
    let mut cases = String::new();
    for folder in folders {
        cases.push_str(&format!("    {folder} | {folder}/) root={folder} ;;\n"));
    }
    format!(
        r#"#!/bin/sh
# Written by minicloud: the forced command of the file sync key (command= in
# /root/.ssh/authorized_keys2). Do not edit: `minicloud up` replaces it.
# A peer's lsyncd may only push into one of the synced folders below; rrsync checks rsync's
# options and keeps the transfer inside that folder.
set -f
refuse() {{
    echo "minicloud-file-sync-receive: refused: $1" >&2
    exit 1
}}
command=${{SSH_ORIGINAL_COMMAND-}}
case $command in
    '') refuse "no command: this key only pushes files" ;;
    *[!A-Za-z0-9\ ./=,_-]*) refuse "characters an rsync push never sends" ;;
    'rsync --server '*) ;;
    *) refuse "not an rsync push" ;;
esac
case " $command " in
    *' --sender '*) refuse "reading files is not allowed" ;;
esac
target=${{command##* }}
rest=${{command% *}}
case $rest in
    *' .') ;;
    *) refuse "an rsync push names one target folder" ;;
esac
case $target in
{cases}    *) refuse "$target is not a synced folder" ;;
esac
SSH_ORIGINAL_COMMAND=$rest
export SSH_ORIGINAL_COMMAND
exec {rrsync} -wo -no-del -no-lock "$root"
"#
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::path::Path;
    use std::process::Command;

    #[test]
    fn the_key_is_forced_to_the_receive_command_from_the_peers_only() {
        let line = authorized_key(
            &["10.0.0.2".into(), "10.0.0.3".into()],
            "ssh-ed25519 AAAAkey minicloud-file-sync",
        );
        assert_eq!(
            line,
            "command=\"/usr/local/sbin/minicloud-file-sync-receive\",from=\"10.0.0.2,10.0.0.3\",\
             restrict ssh-ed25519 AAAAkey minicloud-file-sync"
        );
    }

    #[test]
    fn the_script_names_each_folder_once_and_rrsync_write_only() {
        let script = receive_script(&["/srv/a".into(), "/srv/b.c".into()], RRSYNC);
        assert!(script.contains("    /srv/a | /srv/a/) root=/srv/a ;;\n"));
        assert!(script.contains("    /srv/b.c | /srv/b.c/) root=/srv/b.c ;;\n"));
        assert!(script.ends_with("exec /usr/bin/rrsync -wo -no-del -no-lock \"$root\"\n"));
    }

    /// A stand-in for rrsync that prints what it was handed, and the script calling it.
    fn scripts(dir: &Path, folders: &[String]) -> std::path::PathBuf {
        let stub = dir.join("rrsync-stub");
        std::fs::write(
            &stub,
            "#!/bin/sh\necho \"rrsync $* <$SSH_ORIGINAL_COMMAND>\"\n",
        )
        .unwrap();
        let script = dir.join("receive");
        std::fs::write(
            &script,
            receive_script(folders, &format!("sh {}", stub.display())),
        )
        .unwrap();
        script
    }

    /// Runs the script as sshd would for the forced command: (exit code, stdout, stderr).
    fn run(script: &Path, original: Option<&str>) -> (i32, String, String) {
        let mut command = Command::new("sh");
        command.arg(script).env_remove("SSH_ORIGINAL_COMMAND");
        if let Some(original) = original {
            command.env("SSH_ORIGINAL_COMMAND", original);
        }
        let out = command.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }

    const PUSH: &str = "rsync --server -logDtpre.iLsfxCIvu --from0 .";

    #[test]
    fn a_push_into_a_synced_folder_goes_to_rrsync_rooted_there() {
        let dir = tempfile::tempdir().unwrap();
        let script = scripts(dir.path(), &["/srv/a".into(), "/srv/b".into()]);
        for target in ["/srv/b/", "/srv/b"] {
            let (code, stdout, stderr) = run(&script, Some(&format!("{PUSH} {target}")));
            assert_eq!(code, 0, "{stderr}");
            assert_eq!(
                stdout,
                format!("rrsync -wo -no-del -no-lock /srv/b <{PUSH}>\n")
            );
        }
    }

    #[test]
    fn hostile_commands_are_refused_before_rrsync() {
        let dir = tempfile::tempdir().unwrap();
        let script = scripts(dir.path(), &["/srv/a".into()]);
        let hostile = [
            "rsync --server -logDtpre.iLsfxCIvu . /etc",
            "rsync --server -logDtpre.iLsfxCIvu . /etc/",
            "rsync --server -logDtpre.iLsfxCIvu . /root/.ssh/",
            "rsync --server -logDtpre.iLsfxCIvu . /srv/a/../../etc",
            "rsync --server -logDtpre.iLsfxCIvu . /srv/a/..",
            "rsync --server -logDtpre.iLsfxCIvu . /srv/ab",
            "rsync --server -logDtpre.iLsfxCIvu . /srv",
            "rsync --server -logDtpre.iLsfxCIvu . /srv/a/sub",
            "rsync --server -logDtpre.iLsfxCIvu . /etc /srv/a",
            "rsync --server -logDtpre.iLsfxCIvu /etc /srv/a",
            "rsync --server --sender -logDtpre.iLsfxCIvu . /srv/a",
            "rsync --server -logDtpre.iLsfxCIvu --sender . /srv/a",
            "rsync --server . /srv/a; id",
            "rsync --server . /srv/a && id",
            "rsync --server . /srv/a|id",
            "rsync --server . $(id)/srv/a",
            "rsync --server . `id`",
            "rsync --server . /srv/a\nid",
            "rsync --server . '/srv/a'",
            "rsync --server . /srv/a/*",
            "rsync  --server . /srv/a",
            "sh -c id",
            "; id",
            "id",
            "/usr/bin/rsync --server . /srv/a",
            "rsync --daemon . /srv/a",
            "scp -t /srv/a",
            "",
        ];
        for original in hostile.iter().map(Some).chain([None]) {
            let (code, stdout, stderr) = run(&script, original.copied());
            assert_eq!(code, 1, "{original:?} must be refused: {stdout} {stderr}");
            assert!(stdout.is_empty(), "{original:?} reached rrsync: {stdout}");
            assert!(
                stderr.starts_with("minicloud-file-sync-receive: refused: "),
                "{original:?}: {stderr}"
            );
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]
        /// Whatever the command, rrsync is only ever reached with a synced folder as its root
        /// and a command that is an rsync push without the target.
        #[test]
        fn rrsync_only_ever_gets_a_synced_folder(
            words in proptest::collection::vec(
                prop_oneof![
                    Just("rsync".to_string()),
                    Just("--server".to_string()),
                    Just("--sender".to_string()),
                    Just(".".to_string()),
                    Just("/srv/a".to_string()),
                    Just("/srv/a/".to_string()),
                    Just("/etc".to_string()),
                    Just("..".to_string()),
                    "[-a-zA-Z0-9./;|&$`' ]{0,12}",
                ],
                0..7,
            ),
        ) {
            let dir = tempfile::tempdir().unwrap();
            let script = scripts(dir.path(), &["/srv/a".into()]);
            let original = words.join(" ");
            let (code, stdout, _) = run(&script, Some(&original));
            if code == 0 {
                let rest = original.rsplit_once(' ').unwrap().0;
                prop_assert!(original.ends_with(" /srv/a") || original.ends_with(" /srv/a/"));
                prop_assert!(rest.starts_with("rsync --server ") && rest.ends_with(" ."));
                let padded = format!(" {} ", rest);
                prop_assert!(!padded.contains(" --sender "));
                prop_assert_eq!(stdout, format!("rrsync -wo -no-del -no-lock /srv/a <{}>\n", rest));
            } else {
                prop_assert!(stdout.is_empty());
            }
        }
    }

    /// The real thing, where this machine has Debian's rrsync and python3: rsync pushes
    /// through the script (standing in for sshd's forced command) into a synced folder, and
    /// a push to another folder is refused with nothing written.
    #[test]
    fn a_real_rsync_push_lands_in_the_synced_folder_only() {
        if !Path::new(RRSYNC).exists() || !Path::new("/usr/bin/python3").exists() {
            eprintln!("skipped: no {RRSYNC} or /usr/bin/python3 on this machine");
            return;
        }
        let dir = tempfile::tempdir().unwrap();
        let (source, synced, other) = (
            dir.path().join("source"),
            dir.path().join("synced"),
            dir.path().join("other"),
        );
        for folder in [&source, &synced, &other] {
            std::fs::create_dir(folder).unwrap();
        }
        std::fs::create_dir(source.join("sub")).unwrap();
        std::fs::write(source.join("sub/file.txt"), "hello").unwrap();
        let script = dir.path().join("receive");
        std::fs::write(
            &script,
            receive_script(&[synced.display().to_string()], RRSYNC),
        )
        .unwrap();
        // What ssh does with a forced command: the remote command line, words joined by
        // spaces, in SSH_ORIGINAL_COMMAND; the forced command runs instead. rsync calls
        // `ssh -l root peer rsync --server ...`.
        let fake_ssh = dir.path().join("fake-ssh");
        std::fs::write(
            &fake_ssh,
            format!(
                "#!/bin/sh\n[ \"$1\" = -l ] && shift 2\nshift\nSSH_ORIGINAL_COMMAND=\"$*\" exec sh {}\n",
                script.display()
            ),
        )
        .unwrap();
        let push = |target: &Path| {
            Command::new("rsync")
                .args(["-a", "-e"])
                .arg(format!("sh {}", fake_ssh.display()))
                .arg(format!("{}/", source.display()))
                .arg(format!("root@peer:{}/", target.display()))
                .output()
                .unwrap()
        };
        let ok = push(&synced);
        assert!(
            ok.status.success(),
            "{}",
            String::from_utf8_lossy(&ok.stderr)
        );
        assert_eq!(
            std::fs::read_to_string(synced.join("sub/file.txt")).unwrap(),
            "hello"
        );
        let refused = push(&other);
        assert!(!refused.status.success());
        assert!(
            String::from_utf8_lossy(&refused.stderr).contains("is not a synced folder"),
            "{}",
            String::from_utf8_lossy(&refused.stderr)
        );
        assert_eq!(std::fs::read_dir(&other).unwrap().count(), 0);
        // Options that pass the script are still rrsync's to check: deletes are disabled.
        let delete = Command::new("sh")
            .arg(&script)
            .env(
                "SSH_ORIGINAL_COMMAND",
                format!(
                    "rsync --server -logDtpre.iLsfxCIvu --delete . {}/",
                    synced.display()
                ),
            )
            .output()
            .unwrap();
        assert!(!delete.status.success());
        assert!(
            String::from_utf8_lossy(&delete.stderr).contains("--delete has been disabled"),
            "{}",
            String::from_utf8_lossy(&delete.stderr)
        );
        // Reading from a synced folder (a pull: `rsync --server --sender`) is refused too.
        let pull = Command::new("rsync")
            .args(["-a", "-e"])
            .arg(format!("sh {}", fake_ssh.display()))
            .arg(format!("root@peer:{}/", synced.display()))
            .arg(format!("{}/", other.display()))
            .output()
            .unwrap();
        assert!(!pull.status.success());
        assert!(
            String::from_utf8_lossy(&pull.stderr).contains("reading files is not allowed"),
            "{}",
            String::from_utf8_lossy(&pull.stderr)
        );
        assert_eq!(std::fs::read_dir(&other).unwrap().count(), 0);
    }
}
