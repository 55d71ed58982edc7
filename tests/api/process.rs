//! Real `kameng serve` processes, for crash and multi-instance tests.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct ServerProcess {
    pub base: String,
    child: Child,
}

/// A port nothing listens on (released again at once).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl ServerProcess {
    /// Starts `kameng serve` on a free port and waits until it answers.
    pub async fn start(
        database_url: &str,
        data_dir: &std::path::Path,
        env: &[(&str, &str)],
    ) -> ServerProcess {
        ServerProcess::start_logged(database_url, data_dir, env, None).await
    }

    /// Like [`ServerProcess::start`], with the process's stdout and stderr (its logs) appended
    /// to `log` when given.
    pub async fn start_logged(
        database_url: &str,
        data_dir: &std::path::Path,
        env: &[(&str, &str)],
        log: Option<&std::path::Path>,
    ) -> ServerProcess {
        // A caller may pin the address (KAMENG_BIND in `env`); else a free port.
        let port = env
            .iter()
            .find(|(k, _)| *k == "KAMENG_BIND")
            .and_then(|(_, v)| v.rsplit(':').next()?.parse().ok())
            .unwrap_or_else(free_port);
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kameng"));
        cmd.arg("serve")
            .env("KAMENG_BIND", format!("127.0.0.1:{port}"))
            .env("KAMENG_DATABASE_URL", database_url)
            .env("KAMENG_DATA_DIR", data_dir)
            .env(
                "KAMENG_BOOTSTRAP_ADMIN",
                format!(
                    "{}:{}",
                    crate::common::ADMIN_USER,
                    crate::common::ADMIN_PASS
                ),
            )
            .env("KAMENG_ALLOW_PRIVATE_WEBHOOKS", "true")
            .env("KAMENG_RATE_LIMIT_PER_KEY", "0")
            .env("KAMENG_LOGIN_RATE_LIMIT", "0")
            .env("KAMENG_WORKERS", "2")
            .env("KAMENG_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        for (k, v) in env {
            cmd.env(k, v);
        }
        if let Some(path) = log {
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .expect("open the log file");
            cmd.stdout(file.try_clone().expect("log file handle"))
                .stderr(file);
        }
        let child = cmd.spawn().expect("spawn kameng");
        let base = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = reqwest::get(format!("{base}/readyz")).await {
                if r.status().is_success() {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "kameng did not start");
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        ServerProcess { base, child }
    }

    /// SIGKILL: no graceful shutdown, no flushing.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
