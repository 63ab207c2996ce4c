//! SSH transport: one verified, authenticated connection per host, many commands over it.
//!
//! Host keys are always checked against a known_hosts file ([`known_hosts`]): an unknown key
//! fails with its fingerprint and how to accept it; a changed key (any key other than those
//! recorded for the host, whatever its type) and a `@revoked` key always fail. Commands run on channels of
//! the one connection, at most [`MAX_CHANNELS`] at a time (OpenSSH's MaxSessions is 10).

use anyhow::{Context, Result, anyhow, bail};
use russh::client;
use russh::keys::{HashAlg, PrivateKeyWithHashAlg, PublicKey, PublicKeyOrCertificate};
use russh::{ChannelMsg, Disconnect};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;
use tokio::sync::Semaphore;

pub mod config;
pub mod forward;
pub mod known_hosts;
pub mod passphrase;

/// Channels open at once on one connection.
pub const MAX_CHANNELS: usize = 8;

/// SSH handshakes in progress at once in this process, whatever the number of hosts.
pub const MAX_HANDSHAKES: usize = 16;

/// Where and as whom to connect.
#[derive(Debug, Clone, Default)]
pub struct Target {
    /// Inventory name, for messages.
    pub name: String,
    /// IPv4 or IPv6 address, or DNS name; host keys are looked up under it.
    pub address: String,
    pub port: u16,
    pub user: String,
    /// Private key file; None asks the ssh-agent (SSH_AUTH_SOCK).
    pub key: Option<PathBuf>,
    /// Jump hosts, outermost first: the first is reached directly, each next one through a
    /// `direct-tcpip` channel of the one before, and the target through the last.
    pub jumps: Vec<Hop>,
    /// Verifies the jump hosts' keys too.
    pub known_hosts: PathBuf,
    /// Record an unknown host key instead of failing (`--accept-new-host-keys`). A changed or
    /// revoked key fails regardless.
    pub accept_new_host_key: bool,
    pub connect_timeout: Duration,
    /// Why this target could not be worked out (say, a `~/.ssh/config` that cannot be read):
    /// [`Connection::open`] fails with it.
    pub unresolved: Option<String>,
}

/// A jump host on the way to a [`Target`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hop {
    pub address: String,
    pub port: u16,
    pub user: String,
    /// None asks the ssh-agent.
    pub key: Option<PathBuf>,
}

impl Hop {
    fn spec(&self) -> String {
        if self.address.contains(':') {
            format!("{}@[{}]:{}", self.user, self.address, self.port)
        } else {
            format!("{}@{}:{}", self.user, self.address, self.port)
        }
    }
}

impl Target {
    fn label(&self) -> String {
        let via: Vec<String> = self.jumps.iter().map(Hop::spec).collect();
        let via = if via.is_empty() {
            String::new()
        } else {
            format!(" via {}", via.join(","))
        };
        format!("{} ({}:{}{via})", self.name, self.address, self.port)
    }

    /// The last jump host on the way, as a target of its own (reached through the hops before
    /// it, verified against the same known_hosts): the machine the target's connections come
    /// from, which reaches what the target's network holds. None when the target is reached
    /// straight.
    pub fn last_jump(&self) -> Option<Target> {
        let (last, before) = self.jumps.split_last()?;
        Some(Target {
            name: format!("{}'s jump host {}", self.name, last.spec()),
            address: last.address.clone(),
            port: last.port,
            user: last.user.clone(),
            key: last.key.clone(),
            jumps: before.to_vec(),
            known_hosts: self.known_hosts.clone(),
            accept_new_host_key: self.accept_new_host_key,
            connect_timeout: self.connect_timeout,
            unresolved: self.unresolved.clone(),
        })
    }

    /// Every SSH endpoint on the way, jump hosts first, the target last.
    fn endpoints(&self) -> Vec<Endpoint> {
        let hops = self.jumps.len();
        let mut out: Vec<Endpoint> = self
            .jumps
            .iter()
            .enumerate()
            .map(|(index, hop)| Endpoint {
                label: format!(
                    "{}: jump host {} of {hops} ({})",
                    self.name,
                    index + 1,
                    hop.spec()
                ),
                spec: hop.spec(),
                address: hop.address.clone(),
                port: hop.port,
                user: hop.user.clone(),
                key: hop.key.clone(),
            })
            .collect();
        out.push(Endpoint {
            label: self.label(),
            spec: String::new(),
            address: self.address.clone(),
            port: self.port,
            user: self.user.clone(),
            key: self.key.clone(),
        });
        out
    }
}

/// One SSH server to log in to: a jump host or the target itself.
struct Endpoint {
    /// How messages name it.
    label: String,
    /// user@host:port.
    spec: String,
    address: String,
    port: u16,
    user: String,
    key: Option<PathBuf>,
}

/// What the host-key check found, kept so a refused handshake can be explained.
#[derive(Debug, Clone)]
enum HostKeyVerdict {
    Known,
    Learned,
    Unknown { fingerprint: String },
    Changed { line: usize, fingerprint: String },
    Revoked { line: usize, fingerprint: String },
    Unreadable(String),
    Certificate,
}

struct Verifier {
    address: String,
    port: u16,
    known_hosts: PathBuf,
    accept_new: bool,
    verdict: Arc<Mutex<Option<HostKeyVerdict>>>,
}

impl Verifier {
    fn judge(&self, key: &PublicKey) -> HostKeyVerdict {
        use known_hosts::Decision;
        let fingerprint = key.fingerprint(HashAlg::Sha256).to_string();
        // Changed and revoked keys name their type too: a new type is what a
        // man-in-the-middle without the host's own key has to offer.
        let typed = format!("{} key {fingerprint}", key.algorithm());
        let text = match std::fs::read(&self.known_hosts) {
            Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
            Err(err) if err.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(err) => return HostKeyVerdict::Unreadable(err.to_string()),
        };
        match known_hosts::decide(&text, &self.address, self.port, key) {
            Decision::Known => HostKeyVerdict::Known,
            Decision::Unknown if self.accept_new => {
                match russh::keys::known_hosts::learn_known_hosts_path(
                    &self.address,
                    self.port,
                    key,
                    &self.known_hosts,
                ) {
                    Ok(()) => HostKeyVerdict::Learned,
                    Err(err) => HostKeyVerdict::Unreadable(err.to_string()),
                }
            }
            Decision::Unknown => HostKeyVerdict::Unknown { fingerprint },
            Decision::Changed { line } => HostKeyVerdict::Changed {
                line,
                fingerprint: typed,
            },
            Decision::Revoked { line } => HostKeyVerdict::Revoked {
                line,
                fingerprint: typed,
            },
            Decision::Unreadable { line, why } => HostKeyVerdict::Unreadable(format!(
                "line {line} revokes a key for this host, but {why}; hint: fix or remove that line"
            )),
        }
    }
}

impl client::Handler for Verifier {
    type Error = russh::Error;

    async fn check_server_key(
        &mut self,
        server_key: &PublicKeyOrCertificate,
    ) -> Result<bool, Self::Error> {
        let verdict = match server_key {
            PublicKeyOrCertificate::PublicKey { key, .. } => self.judge(key),
            PublicKeyOrCertificate::Certificate(_) => HostKeyVerdict::Certificate,
        };
        let accepted = matches!(verdict, HostKeyVerdict::Known | HostKeyVerdict::Learned);
        *self.verdict.lock().expect("verdict lock") = Some(verdict);
        Ok(accepted)
    }
}

/// The result of one command.
#[derive(Debug, Clone)]
pub struct Output {
    pub status: u32,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

impl Output {
    pub fn success(&self) -> bool {
        self.status == 0
    }

    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// The last lines of stderr, for error messages.
    pub fn stderr_tail(&self, lines: usize) -> String {
        let text = String::from_utf8_lossy(&self.stderr);
        let all: Vec<&str> = text.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}

/// An open, verified, authenticated connection to one host.
pub struct Connection {
    handle: client::Handle<Verifier>,
    /// The jump hosts' sessions the connection runs through, outermost first.
    jumps: Vec<JumpSession>,
    target: Target,
    channels: Semaphore,
}

/// Expand a leading `~/` to the home directory.
pub fn expand_home(path: &Path) -> PathBuf {
    match (path.strip_prefix("~"), std::env::var_os("HOME")) {
        (Ok(rest), Some(home)) => PathBuf::from(home).join(rest),
        _ => path.to_owned(),
    }
}

impl Connection {
    /// Connect (through the jump hosts, if any), verify each host key and authenticate.
    pub async fn open(target: &Target) -> Result<Connection> {
        // Handshakes are CPU work on both ends: with many hosts, a bounded number at a time
        // finishes sooner than all at once, and keeps file descriptors in check.
        static HANDSHAKES: Semaphore = Semaphore::const_new(MAX_HANDSHAKES);
        let _permit = HANDSHAKES.acquire().await.expect("semaphore never closed");
        if let Some(why) = &target.unresolved {
            bail!("{}: {why}", target.label());
        }
        let config = Arc::new(client::Config {
            // Keepalives notice a dead peer; an inactivity timeout would cut idle healthy sessions.
            keepalive_interval: Some(Duration::from_secs(5)),
            keepalive_max: 3,
            // Small request/response exchanges: with Nagle's algorithm each command waits out
            // the peer's delayed ACK (about 40 ms); OpenSSH sets TCP_NODELAY too.
            nodelay: true,
            ..Default::default()
        });
        // The timeout is for the whole route, however many hops.
        let deadline = tokio::time::Instant::now() + target.connect_timeout;
        let endpoints = target.endpoints();
        let (last, hops) = endpoints
            .split_last()
            .expect("the target is the last endpoint");
        let mut jumps: Vec<JumpSession> = Vec::new();
        let mut route = format!("{}\n", target.known_hosts.display());
        for (index, endpoint) in hops.iter().enumerate() {
            route.push_str(&format!("{} {:?}\n", endpoint.spec, endpoint.key));
            let via = index
                .checked_sub(1)
                .map(|before| (&*jumps[before], hops[before].label.as_str()));
            let session = shared_jump(&route, || {
                connect_endpoint(target, &config, endpoint, via, deadline)
            })
            .await?;
            jumps.push(session);
        }
        let via = jumps
            .last()
            .map(|jump| (&**jump, hops[hops.len() - 1].label.as_str()));
        let handle = connect_endpoint(target, &config, last, via, deadline).await?;
        Ok(Connection {
            handle,
            jumps,
            target: target.clone(),
            channels: Semaphore::new(MAX_CHANNELS),
        })
    }

    pub fn target(&self) -> &Target {
        &self.target
    }

    /// The session has ended (the host went away, or a keepalive went unanswered).
    pub fn is_closed(&self) -> bool {
        self.handle.is_closed()
    }

    /// A TCP connection from the host to `address:port` (a `direct-tcpip` channel), as a byte
    /// stream here: what is behind a host that this machine cannot reach itself (a VIP behind
    /// a bastion, a host's own 127.0.0.1) can be spoken to through it.
    pub async fn connect_tcp(
        &self,
        address: &str,
        port: u16,
    ) -> Result<russh::ChannelStream<client::Msg>> {
        let channel = self
            .handle
            .channel_open_direct_tcpip(address, u32::from(port), "127.0.0.1", 0)
            .await
            .map_err(|err| {
                anyhow!(
                    "{}: cannot open a connection from there to {address}:{port}: {err}; hint: does \
                     its sshd allow TCP forwarding (AllowTcpForwarding), and does something listen there?",
                    self.target.label()
                )
            })?;
        Ok(channel.into_stream())
    }

    /// Run a shell command and collect its output.
    pub async fn run(&self, command: &str) -> Result<Output> {
        self.run_with_stdin(command, &[]).await
    }

    /// Run a shell command with `stdin` as its standard input.
    pub async fn run_with_stdin(&self, command: &str, stdin: &[u8]) -> Result<Output> {
        self.exec(command, Some(stdin)).await
    }

    /// Run a shell command whose standard input stays open until it ends: the end of its input
    /// tells it that this side went away (see `converge::commands::ended_with_the_run`).
    pub async fn run_watched(&self, command: &str) -> Result<Output> {
        self.exec(command, None).await
    }

    /// Run `command`; `stdin` is sent and then closed, or with None left open.
    async fn exec(&self, command: &str, stdin: Option<&[u8]>) -> Result<Output> {
        let _permit = self
            .channels
            .acquire()
            .await
            .expect("semaphore never closed");
        let label = self.target.label();
        let started = std::time::Instant::now();
        tracing::debug!(host = %self.target.name, stdin_bytes = stdin.map(<[u8]>::len), "ssh: {command}");
        let mut channel = self.start(command).await?;
        if let Some(stdin) = stdin {
            if !stdin.is_empty() {
                channel
                    .data(stdin)
                    .await
                    .with_context(|| format!("{label}: sending input to `{command}`"))?;
            }
            channel.eof().await.ok();
        }
        let (mut stdout, mut stderr, mut status) = (Vec::new(), Vec::new(), None);
        // Read to the end: a channel left unread stalls the whole connection.
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Data { data } => stdout.extend_from_slice(&data),
                ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                ChannelMsg::ExitSignal { signal_name, .. } => {
                    stderr.extend_from_slice(
                        format!("killed by signal {signal_name:?}\n").as_bytes(),
                    );
                    status = Some(128);
                }
                _ => {}
            }
        }
        let status =
            status.ok_or_else(|| anyhow!("{label}: `{command}` ended without an exit status"))?;
        tracing::debug!(
            host = %self.target.name,
            status,
            ms = started.elapsed().as_millis() as u64,
            stdout_bytes = stdout.len(),
            "ssh: done"
        );
        Ok(Output {
            status,
            stdout,
            stderr,
        })
    }

    /// Open a channel and start `command` on it.
    async fn start(&self, command: &str) -> Result<russh::Channel<client::Msg>> {
        let label = self.target.label();
        let channel = self
            .handle
            .channel_open_session()
            .await
            .with_context(|| format!("{label}: cannot open a session"))?;
        channel
            .exec(true, command)
            .await
            .with_context(|| format!("{label}: cannot start `{command}`"))?;
        Ok(channel)
    }

    /// Start `command` and wait for its first line of output, leaving it running with its
    /// standard input open for as long as the returned [`Held`] lives (or the connection does).
    /// A command that ends before saying anything is an error with its exit status and output.
    ///
    /// This is how a remote lock is held for a run: the command takes the lock, says so, then
    /// waits for its input to end, which happens when this process drops the channel, closes
    /// the connection, or dies (the host's sshd then closes the channel itself).
    ///
    /// It takes no permit of [`MAX_CHANNELS`]: it lasts the whole run, and one more channel
    /// still fits OpenSSH's MaxSessions of 10.
    pub async fn hold(&self, command: &str) -> Result<(String, Held)> {
        let mut channel = self.start(command).await?;
        let (mut stdout, mut stderr, mut status) = (Vec::new(), Vec::new(), None);
        while let Some(msg) = channel.wait().await {
            match msg {
                ChannelMsg::Data { data } => {
                    stdout.extend_from_slice(&data);
                    if let Some(end) = stdout.iter().position(|b| *b == b'\n') {
                        let line = String::from_utf8_lossy(&stdout[..end]).to_string();
                        return Ok((
                            line,
                            Held {
                                channel: Some(channel),
                            },
                        ));
                    }
                }
                ChannelMsg::ExtendedData { data, ext: 1 } => stderr.extend_from_slice(&data),
                ChannelMsg::ExitStatus { exit_status } => status = Some(exit_status),
                _ => {}
            }
        }
        Err(Refused {
            status: status.unwrap_or(255),
            stdout: String::from_utf8_lossy(&stdout).trim().to_string(),
            stderr: String::from_utf8_lossy(&stderr).trim().to_string(),
        }
        .into())
    }

    /// Run a command that must succeed; its error names host, command and stderr's last lines.
    pub async fn check(&self, command: &str) -> Result<Output> {
        let out = self.run(command).await?;
        if !out.success() {
            bail!(
                "{}: `{command}` exited {}: {}",
                self.target.label(),
                out.status,
                out.stderr_tail(5)
            );
        }
        Ok(out)
    }

    pub async fn close(self) {
        let _ = self
            .handle
            .disconnect(Disconnect::ByApplication, "", "en")
            .await;
        // A jump session other connections still use stays.
        for jump in self.jumps.into_iter().rev() {
            if let Some(jump) = Arc::into_inner(jump) {
                let _ = jump.disconnect(Disconnect::ByApplication, "", "en").await;
            }
        }
    }
}

/// A command started by [`Connection::hold`], kept running until this is released or dropped.
pub struct Held {
    channel: Option<russh::Channel<client::Msg>>,
}

impl Held {
    /// End the command's input and wait (5 s at most) for the command to end, so that what it
    /// held is free when this returns.
    pub async fn release(mut self) {
        if let Some(mut channel) = self.channel.take() {
            let _ = channel.eof().await;
            let _ = tokio::time::timeout(Duration::from_secs(5), async {
                while channel.wait().await.is_some() {}
            })
            .await;
            let _ = channel.close().await;
        }
    }
}

impl Drop for Held {
    /// A russh channel that is dropped is not closed: the command would run on, holding what it
    /// holds, until the whole connection ends. So the input is ended here (without waiting).
    fn drop(&mut self) {
        if let Some(channel) = self.channel.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(async move {
                let _ = channel.eof().await;
                let _ = channel.close().await;
            });
        }
    }
}

/// A command started by [`Connection::hold`] that ended before its first line.
#[derive(Debug)]
pub struct Refused {
    pub status: u32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        write!(f, "exited {}: {} {}", self.status, self.stdout, self.stderr)
    }
}

impl std::error::Error for Refused {}

/// A logged-in session to a jump host, shared by the connections through it.
type JumpSession = Arc<client::Handle<Verifier>>;

/// The session to the jump host at the end of `route` (known_hosts file, then each hop's
/// user@host:port and key), opened with `connect` unless a live one is there: every host
/// behind one bastion goes through one SSH login to it, not one each (a bastion's sshd limits
/// logins in progress, MaxStartups 10). It lasts as long as a connection uses it.
async fn shared_jump<F, Fut>(route: &str, connect: F) -> Result<JumpSession>
where
    F: FnOnce() -> Fut,
    Fut: std::future::Future<Output = Result<client::Handle<Verifier>>>,
{
    static JUMPS: tokio::sync::Mutex<Option<HashMap<String, Weak<client::Handle<Verifier>>>>> =
        tokio::sync::Mutex::const_new(None);
    let mut jumps = JUMPS.lock().await;
    let jumps = jumps.get_or_insert_with(HashMap::new);
    jumps.retain(|_, session| session.strong_count() > 0);
    if let Some(session) = jumps.get(route).and_then(Weak::upgrade)
        && !session.is_closed()
    {
        return Ok(session);
    }
    let session = Arc::new(connect().await?);
    jumps.insert(route.to_string(), Arc::downgrade(&session));
    Ok(session)
}

/// Connect to one endpoint, directly or through a `direct-tcpip` channel of the jump host
/// before it (`via`: its session and label), verify its host key and log in.
async fn connect_endpoint(
    target: &Target,
    config: &Arc<client::Config>,
    endpoint: &Endpoint,
    via: Option<(&client::Handle<Verifier>, &str)>,
    deadline: tokio::time::Instant,
) -> Result<client::Handle<Verifier>> {
    let label = &endpoint.label;
    let verdict = Arc::new(Mutex::new(None));
    let verifier = Verifier {
        address: endpoint.address.clone(),
        port: endpoint.port,
        known_hosts: expand_home(&target.known_hosts),
        accept_new: target.accept_new_host_key,
        verdict: verdict.clone(),
    };
    let connect = async {
        match via {
            None => {
                let addr = (endpoint.address.as_str(), endpoint.port);
                Ok(client::connect(config.clone(), addr, verifier).await)
            }
            Some((jump, jump_label)) => {
                let channel = jump
                    .channel_open_direct_tcpip(
                        endpoint.address.as_str(),
                        u32::from(endpoint.port),
                        "127.0.0.1",
                        0,
                    )
                    .await
                    .map_err(|err| {
                        anyhow!(
                            "{label}: {jump_label} could not open a connection to it: {err}; hint: \
                             can the jump host reach {}:{} (try `nc -zv` there), and does its sshd \
                             allow TCP forwarding (AllowTcpForwarding)?",
                            endpoint.address,
                            endpoint.port
                        )
                    })?;
                Ok(client::connect_stream(config.clone(), channel.into_stream(), verifier).await)
            }
        }
    };
    let mut handle = match tokio::time::timeout_at(deadline, connect).await {
        Err(_) => bail!(
            "{label}: no answer within {} s; hint: is the host up and is its address right?",
            target.connect_timeout.as_secs()
        ),
        Ok(Err(err)) => return Err(err),
        Ok(Ok(Err(err))) => {
            let verdict = verdict.lock().expect("verdict lock").clone();
            return Err(handshake_error(label, &target.known_hosts, err, verdict));
        }
        Ok(Ok(Ok(handle))) => handle,
    };
    authenticate(&mut handle, endpoint).await?;
    Ok(handle)
}

/// Log in with the key file, or with each identity the ssh-agent holds.
async fn authenticate(handle: &mut client::Handle<Verifier>, target: &Endpoint) -> Result<()> {
    let label = &target.label;
    let hash = handle
        .best_supported_rsa_hash()
        .await
        .context("negotiating the key's hash")?
        .flatten();
    if let Some(key) = &target.key {
        let key_path = expand_home(key);
        let auth = match passphrase::load_key(&key_path, label).await? {
            passphrase::Key::Plain(private) => handle
                .authenticate_publickey(&target.user, PrivateKeyWithHashAlg::new(private, hash))
                .await
                .with_context(|| format!("{label}: authentication failed"))?,
            passphrase::Key::InAgent(mut agent, public) => handle
                .authenticate_publickey_with(&target.user, public, hash, &mut *agent)
                .await
                .with_context(|| format!("{label}: authentication through the ssh-agent failed"))?,
        };
        if !auth.success() {
            bail!(
                "{label}: the host refused key {} for user {}; hint: is the public key in that user's \
                 ~/.ssh/authorized_keys?",
                key_path.display(),
                target.user
            );
        }
        return Ok(());
    }
    let mut agent = russh::keys::agent::client::AgentClient::connect_env().await.map_err(|e| {
        anyhow!(
            "{label}: no ssh.key in the inventory and no ssh-agent to ask ({e}); hint: set ssh.key, or \
             start ssh-agent and ssh-add your key"
        )
    })?;
    let identities = agent
        .request_identities()
        .await
        .with_context(|| format!("{label}: asking the ssh-agent for keys"))?;
    for identity in &identities {
        let key = identity.public_key().into_owned();
        let auth = handle
            .authenticate_publickey_with(&target.user, key, hash, &mut agent)
            .await;
        if matches!(auth, Ok(ref result) if result.success()) {
            return Ok(());
        }
    }
    bail!(
        "{label}: the host refused all {} key(s) the ssh-agent holds for user {}; hint: ssh-add the right key, \
         or set ssh.key",
        identities.len(),
        target.user
    )
}

fn handshake_error(
    label: &str,
    known_hosts: &Path,
    err: russh::Error,
    verdict: Option<HostKeyVerdict>,
) -> anyhow::Error {
    let known_hosts = known_hosts.display();
    match verdict {
        Some(HostKeyVerdict::Unknown { fingerprint }) => anyhow!(
            "{label}: unknown host key {fingerprint} (not in {known_hosts}); hint: check the \
             fingerprint on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then run \
             again with --accept-new-host-keys to record it"
        ),
        Some(HostKeyVerdict::Changed { line, fingerprint }) => anyhow!(
            "{label}: HOST KEY CHANGED: the host now shows {fingerprint}, which differs from line \
             {line} of {known_hosts}; refusing to connect (this is what a man-in-the-middle looks \
             like); hint: if the host was reinstalled, remove that line and connect again"
        ),
        Some(HostKeyVerdict::Revoked { line, fingerprint }) => anyhow!(
            "{label}: REVOKED HOST KEY: the host shows {fingerprint}, which line {line} of \
             {known_hosts} marks @revoked; refusing to connect; hint: the host must get a new host \
             key (ssh-keygen -A after removing the revoked one on the host); check its fingerprint \
             there, then record it"
        ),
        Some(HostKeyVerdict::Unreadable(why)) => {
            anyhow!("{label}: cannot check the host key against {known_hosts}: {why}")
        }
        Some(HostKeyVerdict::Certificate) => {
            anyhow!(
                "{label}: the host offered an SSH certificate; minicloud verifies plain host keys only"
            )
        }
        _ => {
            use std::io::ErrorKind;
            let hint = match &err {
                russh::Error::IO(io) if io.kind() == ErrorKind::ConnectionRefused => {
                    "; hint: nothing listens on that port: is sshd running, is ssh.port right?"
                }
                russh::Error::IO(io)
                    if matches!(
                        io.kind(),
                        ErrorKind::HostUnreachable
                            | ErrorKind::NetworkUnreachable
                            | ErrorKind::TimedOut
                    ) =>
                {
                    "; hint: is the host up and is its address right?"
                }
                _ => "",
            };
            anyhow!("{label}: cannot connect: {err}{hint}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ED: &str =
        "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIJ85JUS7EGBZLG15pPDvWIYVfIytZVd7eVgAwzW9MxNj";
    const RSA: &str = "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAAAgQCryYPvyZvhKQ7nsxXfyFA5sngTw7YpU5UqthgbJdqIbZ79KKGmdlCHoH9imw7lVmKG9jLkRWtvZx34ZyxG9o2sOyNdVGmLBBQVGgSh5kX1qd4ZzxnHgYek34ZVemBXJnfl6uh6472mC+zpMd7yQk1NAqodNkNPrbbUhH2RX+t+Vw==";

    fn verifier(known_hosts: &Path) -> Verifier {
        Verifier {
            address: "10.0.0.1".into(),
            port: 2222,
            known_hosts: known_hosts.to_owned(),
            accept_new: true,
            verdict: Arc::new(Mutex::new(None)),
        }
    }

    fn target(known_hosts: &Path) -> Target {
        Target {
            name: "app1".into(),
            address: "10.0.0.1".into(),
            port: 2222,
            user: "root".into(),
            key: None,
            known_hosts: known_hosts.to_owned(),
            accept_new_host_key: true,
            connect_timeout: Duration::from_secs(1),
            ..Default::default()
        }
    }

    fn refusal(known_hosts: &Path, verdict: HostKeyVerdict) -> String {
        handshake_error(
            &target(known_hosts).label(),
            known_hosts,
            russh::Error::NotAuthenticated,
            Some(verdict),
        )
        .to_string()
    }

    #[test]
    fn the_last_jump_host_is_a_target_reached_through_the_hops_before_it() {
        let hop = |address: &str, port: u16| Hop {
            address: address.into(),
            port,
            user: "ops".into(),
            key: Some(PathBuf::from("/keys/ops")),
        };
        let mut far = target(Path::new("/kh"));
        assert!(far.last_jump().is_none(), "reached straight: no jump host");
        far.jumps = vec![hop("outer.example", 2022), hop("10.231.70.10", 22)];
        let last = far.last_jump().unwrap();
        assert_eq!(
            (last.address.as_str(), last.port, last.user.as_str()),
            ("10.231.70.10", 22, "ops")
        );
        assert_eq!(last.jumps, [hop("outer.example", 2022)]);
        assert_eq!(last.key, Some(PathBuf::from("/keys/ops")));
        assert_eq!(last.known_hosts, PathBuf::from("/kh"));
        assert_eq!(last.name, "app1's jump host ops@10.231.70.10:22");
    }

    #[test]
    fn accept_new_does_not_record_a_key_of_another_type_for_a_known_host() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let recorded = format!("# minicloud\n[10.0.0.1]:2222 {ED}\n");
        std::fs::write(&path, &recorded).unwrap();
        let rsa = PublicKey::from_openssh(RSA).unwrap();
        let verdict = verifier(&path).judge(&rsa);
        assert!(
            matches!(verdict, HostKeyVerdict::Changed { line: 2, .. }),
            "{verdict:?}"
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), recorded);
        let message = refusal(&path, verdict);
        assert!(
            message.contains("HOST KEY CHANGED")
                && message.contains("ssh-rsa key SHA256:")
                && message.contains(&format!("line 2 of {}", path.display()))
                && message.contains("hint: if the host was reinstalled"),
            "{message}"
        );
    }

    #[test]
    fn accept_new_records_an_unknown_host_and_refuses_a_revoked_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("known_hosts");
        let ed = PublicKey::from_openssh(ED).unwrap();
        assert!(matches!(
            verifier(&path).judge(&ed),
            HostKeyVerdict::Learned
        ));
        assert!(matches!(verifier(&path).judge(&ed), HostKeyVerdict::Known));
        let learned = std::fs::read_to_string(&path).unwrap();
        std::fs::write(&path, format!("{learned}@revoked * {ED}\n")).unwrap();
        let revoked_line = learned.lines().count() + 1;
        let verdict = verifier(&path).judge(&ed);
        assert!(
            matches!(verdict, HostKeyVerdict::Revoked { line, .. } if line == revoked_line),
            "{verdict:?}"
        );
        let message = refusal(&path, verdict);
        assert!(
            message.contains("REVOKED HOST KEY") && message.contains("marks @revoked"),
            "{message}"
        );
    }
}
