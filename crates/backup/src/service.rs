//! Stopping and starting a node: a systemd unit or the configured commands, and the RPC
//! reading of height and head hash.
use std::time::{Duration, Instant};

use nodewarden_config::NodeConfig;

use crate::error::{BackupError, Result};
use crate::restore::ServiceControl;

pub struct NodeService {
    pub node: NodeConfig,
    /// How long `start` waits for the node to answer RPC.
    pub start_timeout: Duration,
}

impl NodeService {
    pub fn new(node: &NodeConfig) -> Result<NodeService> {
        if node.service.is_none() {
            return Err(BackupError::Input(format!(
                "node `{}` has no `service` (systemd unit or stop/start commands) in the config",
                node.name
            )));
        }
        Ok(NodeService {
            node: node.clone(),
            start_timeout: Duration::from_secs(60),
        })
    }

    fn run(&self, what: &str) -> Result<()> {
        let Some(service) = self.node.service.as_ref() else {
            return Err(BackupError::Input(format!(
                "node `{}` has no `service`",
                self.node.name
            )));
        };
        service
            .run(what == "start")
            .map_err(|e| BackupError::Process(format!("node `{}`: {e}", self.node.name)))
    }

    /// Height and head hash as the node reports them.
    pub async fn head(&self) -> Result<(Option<u64>, Option<String>)> {
        let url = self.node.rpc_url().map_err(BackupError::Input)?;
        let timeout = self.node.timeout.unwrap_or(Duration::from_secs(5));
        let client = nodewarden_rpc::connect(&self.node.name, self.node.kind, &url, timeout)
            .await
            .map_err(|e| BackupError::Service(e.to_string()))?;
        let st = client
            .status()
            .await
            .map_err(|e| BackupError::Service(e.to_string()))?;
        let hash = st.head.as_ref().map(|h| h.hash.clone());
        Ok((st.head.map(|h| h.height).or(st.current), hash))
    }

    /// Runs the start command without waiting for the node to answer.
    pub fn start_command(&self) -> Result<()> {
        self.run("start")
    }

    pub fn wait_answering(&self) -> Result<()> {
        let deadline = Instant::now() + self.start_timeout;
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| BackupError::Service(e.to_string()))?;
        loop {
            match rt.block_on(self.head()) {
                Ok(_) => return Ok(()),
                Err(e) if Instant::now() > deadline => {
                    return Err(BackupError::Service(format!(
                        "node `{}` did not answer within {:?} after start: {e}",
                        self.node.name, self.start_timeout
                    )));
                }
                Err(_) => std::thread::sleep(Duration::from_millis(200)),
            }
        }
    }
}

impl ServiceControl for NodeService {
    fn stop(&self) -> Result<()> {
        self.run("stop")
    }

    fn start(&self) -> Result<()> {
        self.run("start")?;
        self.wait_answering()
    }
}
