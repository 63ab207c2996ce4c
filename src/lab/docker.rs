//! The lab's use of the Docker engine, through bollard: networks, host containers, exec, and
//! importing the base root filesystem as an image. Nothing here knows the lab's topology.

use anyhow::{Context, Result, anyhow, bail};
use bollard::Docker;
use bollard::container::LogOutput;
use bollard::exec::{CreateExecOptions, StartExecResults};
use bollard::models::{
    ContainerCreateBody, EndpointIpamConfig, EndpointSettings, HostConfig,
    HostConfigCgroupnsModeEnum, Ipam, IpamConfig, NetworkConnectRequest, NetworkCreateRequest,
    NetworkingConfig,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, CreateImageOptionsBuilder, KillContainerOptionsBuilder,
    ListContainersOptionsBuilder, ListNetworksOptionsBuilder, RemoveContainerOptionsBuilder,
    StopContainerOptionsBuilder,
};
use futures_util::{StreamExt, TryStreamExt};
use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::Path;

/// A container's state as the lab needs it.
#[derive(Debug, Clone)]
pub struct ContainerInfo {
    pub running: bool,
    pub image: String,
    /// Network name → IPv4 address.
    pub addresses: HashMap<String, String>,
    /// Network name → the names Docker's DNS answers for it there (besides its own).
    pub aliases: HashMap<String, Vec<String>>,
    /// Its first process (systemd) as this machine sees it, while it runs.
    pub pid: Option<u32>,
}

/// How to create one host container.
#[derive(Debug, Clone)]
pub struct HostSpec {
    pub container: String,
    pub hostname: String,
    pub image: String,
    pub labels: HashMap<String, String>,
    /// (network, address) in attach order; the first becomes eth0. On each, Docker's DNS
    /// answers `hostname` with its address there (a network alias).
    pub networks: Vec<(String, Ipv4Addr)>,
}

/// Output of a command run in a container.
#[derive(Debug)]
pub struct ExecOutput {
    pub code: i64,
    pub stdout: String,
    pub stderr: String,
}

pub struct Engine {
    docker: Docker,
}

fn is_not_found(err: &bollard::errors::Error) -> bool {
    matches!(
        err,
        bollard::errors::Error::DockerResponseServerError {
            status_code: 404,
            ..
        }
    )
}

impl Engine {
    /// Connect to the local engine and make sure it answers.
    pub async fn connect() -> Result<Engine> {
        let hint = "hint: install docker.io and start dockerd as root (scripts/lab.sh does both)";
        let docker = Docker::connect_with_unix_defaults().map_err(|e| {
            anyhow!("cannot reach the Docker engine at /var/run/docker.sock: {e}; {hint}")
        })?;
        docker.ping().await.map_err(|e| {
            anyhow!("the Docker engine at /var/run/docker.sock does not answer: {e}; {hint}")
        })?;
        Ok(Engine { docker })
    }

    pub async fn image_exists(&self, image: &str) -> Result<bool> {
        match self.docker.inspect_image(image).await {
            Ok(_) => Ok(true),
            Err(e) if is_not_found(&e) => Ok(false),
            Err(e) => Err(e).context("inspecting the lab image"),
        }
    }

    /// Import a root filesystem folder as image `repo:tag` that boots `/sbin/init`.
    pub async fn import_rootfs(&self, rootfs: &Path, repo: &str, tag: &str) -> Result<()> {
        // tar streams the tree (keeping owners, modes and device nodes) straight into Docker.
        let mut tar = tokio::process::Command::new("tar")
            .args(["--numeric-owner", "-C"])
            .arg(rootfs)
            .args(["-c", "."])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .context("starting tar")?;
        let stdout = tar.stdout.take().expect("piped stdout");
        let body = bollard::body_try_stream(tokio_util::io::ReaderStream::new(stdout));
        let options = CreateImageOptionsBuilder::default()
            .from_src("-")
            .repo(repo)
            .tag(tag)
            .changes(vec![
                r#"CMD ["/sbin/init"]"#.to_string(),
                "ENV container=docker".to_string(),
            ])
            .build();
        let mut progress = self.docker.create_image(Some(options), Some(body), None);
        while let Some(item) = progress.next().await {
            item.context("importing the lab image")?;
        }
        let status = tar.wait().await.context("waiting for tar")?;
        if !status.success() {
            bail!("tar of {} failed ({status})", rootfs.display());
        }
        Ok(())
    }

    /// Subnet of an existing network, or None when there is no such network.
    pub async fn network_subnet(&self, name: &str) -> Result<Option<String>> {
        match self
            .docker
            .inspect_network(
                name,
                None::<bollard::query_parameters::InspectNetworkOptions>,
            )
            .await
        {
            Ok(net) => Ok(Some(
                net.ipam
                    .and_then(|ipam| ipam.config)
                    .and_then(|configs| configs.into_iter().find_map(|c| c.subnet))
                    .unwrap_or_default(),
            )),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e).with_context(|| format!("inspecting network {name}")),
        }
    }

    pub async fn create_network(
        &self,
        name: &str,
        subnet: &str,
        gateway: std::net::Ipv4Addr,
        labels: HashMap<String, String>,
    ) -> Result<()> {
        let request = NetworkCreateRequest {
            name: name.to_string(),
            driver: Some("bridge".into()),
            ipam: Some(Ipam {
                config: Some(vec![IpamConfig {
                    subnet: Some(subnet.to_string()),
                    gateway: Some(gateway.to_string()),
                    ..Default::default()
                }]),
                ..Default::default()
            }),
            labels: Some(labels),
            ..Default::default()
        };
        self.docker.create_network(request).await.with_context(|| {
            format!("creating network {name} ({subnet}); hint: another network may already use that subnet")
        })?;
        Ok(())
    }

    pub async fn remove_network(&self, name: &str) -> Result<()> {
        match self.docker.remove_network(name).await {
            Err(e) if !is_not_found(&e) => {
                Err(e).with_context(|| format!("removing network {name}"))
            }
            _ => Ok(()),
        }
    }

    /// Names of networks carrying `label=value`.
    pub async fn networks_labeled(&self, label: &str, value: &str) -> Result<Vec<String>> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{label}={value}")])]);
        let options = ListNetworksOptionsBuilder::default()
            .filters(&filters)
            .build();
        let networks = self
            .docker
            .list_networks(Some(options))
            .await
            .context("listing networks")?;
        Ok(networks.into_iter().filter_map(|n| n.name).collect())
    }

    /// Names of containers (running or not) carrying `label=value`.
    pub async fn containers_labeled(&self, label: &str, value: &str) -> Result<Vec<String>> {
        let filters = HashMap::from([("label".to_string(), vec![format!("{label}={value}")])]);
        let options = ListContainersOptionsBuilder::default()
            .all(true)
            .filters(&filters)
            .build();
        let containers = self
            .docker
            .list_containers(Some(options))
            .await
            .context("listing containers")?;
        Ok(containers
            .into_iter()
            .filter_map(|c| c.names.and_then(|names| names.into_iter().next()))
            .map(|name| name.trim_start_matches('/').to_string())
            .collect())
    }

    pub async fn container(&self, name: &str) -> Result<Option<ContainerInfo>> {
        let info = match self.docker.inspect_container(name, None).await {
            Ok(info) => info,
            Err(e) if is_not_found(&e) => return Ok(None),
            Err(e) => return Err(e).with_context(|| format!("inspecting container {name}")),
        };
        let endpoints = info
            .network_settings
            .and_then(|s| s.networks)
            .unwrap_or_default();
        let aliases = endpoints
            .iter()
            .map(|(net, endpoint)| (net.clone(), endpoint.aliases.clone().unwrap_or_default()))
            .collect();
        let addresses = endpoints
            .into_iter()
            .map(|(net, endpoint)| (net, endpoint.ip_address.unwrap_or_default()))
            .collect();
        Ok(Some(ContainerInfo {
            running: info.state.as_ref().and_then(|s| s.running).unwrap_or(false),
            image: info.config.and_then(|c| c.image).unwrap_or_default(),
            addresses,
            aliases,
            pid: info
                .state
                .as_ref()
                .and_then(|s| s.pid)
                .and_then(|pid| u32::try_from(pid).ok())
                .filter(|&pid| pid > 0),
        }))
    }

    /// Create a host container that boots systemd, attached to its first network.
    pub async fn create_host(&self, spec: &HostSpec) -> Result<()> {
        let (first_net, first_addr) = spec.networks.first().context("a host needs a network")?;
        // What lets systemd boot as PID 1 on this machine kind (`--privileged` is refused here).
        let host_config = HostConfig {
            cap_add: Some(vec![
                "SYS_ADMIN".into(),
                "NET_ADMIN".into(),
                "NET_RAW".into(),
            ]),
            security_opt: Some(vec![
                "seccomp=unconfined".into(),
                "apparmor=unconfined".into(),
            ]),
            tmpfs: Some(HashMap::from([
                ("/run".into(), String::new()),
                ("/run/lock".into(), String::new()),
            ])),
            binds: Some(vec!["/sys/fs/cgroup:/sys/fs/cgroup:rw".into()]),
            cgroupns_mode: Some(HostConfigCgroupnsModeEnum::HOST),
            // A backup keepalived node's daemons must be able to bind the VIP it does not hold;
            // /proc/sys is read-only inside, so it is set here, at creation.
            sysctls: Some(HashMap::from([(
                "net.ipv4.ip_nonlocal_bind".into(),
                "1".into(),
            )])),
            network_mode: Some(first_net.clone()),
            ..Default::default()
        };
        let body = ContainerCreateBody {
            image: Some(spec.image.clone()),
            hostname: Some(spec.hostname.clone()),
            labels: Some(spec.labels.clone()),
            // systemd shuts down cleanly on SIGRTMIN+3.
            stop_signal: Some("SIGRTMIN+3".into()),
            host_config: Some(host_config),
            networking_config: Some(NetworkingConfig {
                endpoints_config: Some(HashMap::from([(
                    first_net.clone(),
                    endpoint(*first_addr, &spec.hostname),
                )])),
            }),
            ..Default::default()
        };
        let options = CreateContainerOptionsBuilder::default()
            .name(&spec.container)
            .build();
        self.docker
            .create_container(Some(options), body)
            .await
            .with_context(|| format!("creating container {}", spec.container))?;
        Ok(())
    }

    /// Attach a running container to another network with a fixed address (it becomes
    /// ethN+1), Docker's DNS answering `alias` there.
    pub async fn connect_network(
        &self,
        container: &str,
        network: &str,
        address: Ipv4Addr,
        alias: &str,
    ) -> Result<()> {
        let request = NetworkConnectRequest {
            container: container.to_string(),
            endpoint_config: Some(endpoint(address, alias)),
        };
        self.docker
            .connect_network(network, request)
            .await
            .with_context(|| format!("attaching {container} to {network} as {address}"))
    }

    pub async fn start(&self, container: &str) -> Result<()> {
        self.docker
            .start_container(container, None)
            .await
            .with_context(|| format!("starting {container}"))
    }

    /// Clean stop: systemd shuts the host down, then Docker stops it.
    pub async fn stop(&self, container: &str) -> Result<()> {
        let options = StopContainerOptionsBuilder::default().t(20).build();
        self.docker
            .stop_container(container, Some(options))
            .await
            .with_context(|| format!("stopping {container}"))
    }

    /// Hard kill (SIGKILL to the container's init): like pulling the power cord.
    pub async fn kill(&self, container: &str) -> Result<()> {
        let options = KillContainerOptionsBuilder::default()
            .signal("SIGKILL")
            .build();
        self.docker
            .kill_container(container, Some(options))
            .await
            .with_context(|| format!("killing {container}"))
    }

    /// Remove a container (stopping it first). One that another removal is already taking
    /// away is waited for: Docker answers 409 to a second removal, and either way it is gone.
    pub async fn remove(&self, container: &str) -> Result<()> {
        let options = RemoveContainerOptionsBuilder::default().force(true).build();
        match self.docker.remove_container(container, Some(options)).await {
            Err(bollard::errors::Error::DockerResponseServerError {
                status_code: 409,
                message,
            }) if message.contains("already in progress") => {
                for _ in 0..120 {
                    if self.container(container).await?.is_none() {
                        return Ok(());
                    }
                    tokio::time::sleep(std::time::Duration::from_millis(250)).await;
                }
                anyhow::bail!("removing {container}: another removal of it did not end in 30 s")
            }
            Err(e) if !is_not_found(&e) => Err(e).with_context(|| format!("removing {container}")),
            _ => Ok(()),
        }
    }

    /// Run a command inside a container and collect its output (Docker's own channel, not SSH).
    pub async fn exec(&self, container: &str, argv: &[&str]) -> Result<ExecOutput> {
        let options = CreateExecOptions {
            cmd: Some(argv.iter().map(|s| s.to_string()).collect()),
            attach_stdout: Some(true),
            attach_stderr: Some(true),
            ..Default::default()
        };
        let exec = self
            .docker
            .create_exec(container, options)
            .await
            .with_context(|| format!("exec in {container}"))?;
        let (mut stdout, mut stderr) = (String::new(), String::new());
        if let StartExecResults::Attached { mut output, .. } =
            self.docker.start_exec(&exec.id, None).await?
        {
            while let Some(chunk) = output.try_next().await? {
                match chunk {
                    LogOutput::StdOut { message } => {
                        stdout.push_str(&String::from_utf8_lossy(&message))
                    }
                    LogOutput::StdErr { message } => {
                        stderr.push_str(&String::from_utf8_lossy(&message))
                    }
                    _ => {}
                }
            }
        }
        let code = self
            .docker
            .inspect_exec(&exec.id)
            .await?
            .exit_code
            .unwrap_or(-1);
        Ok(ExecOutput {
            code,
            stdout,
            stderr,
        })
    }
}

/// A fixed address on a network, and a name other containers there resolve to it (the
/// bastion layout reaches hosts by name: `lb1`, not the container's `minicloud-lb1`).
fn endpoint(address: Ipv4Addr, alias: &str) -> EndpointSettings {
    EndpointSettings {
        ipam_config: Some(EndpointIpamConfig {
            ipv4_address: Some(address.to_string()),
            ..Default::default()
        }),
        aliases: Some(vec![alias.to_string()]),
        ..Default::default()
    }
}
