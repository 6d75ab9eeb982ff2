//! Debian's nginx (scripts/test installs it) on a free loopback port, with a test's `http {}`
//! body; stopped on drop.

use std::process::{Child, Command};

pub struct Nginx {
    child: Child,
    pub port: u16,
    dir: tempfile::TempDir,
}

impl Drop for Nginx {
    fn drop(&mut self) {
        // SIGTERM: the master stops its worker too (SIGKILL would leave the worker behind).
        let _ = Command::new("kill")
            .arg("-TERM")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

impl Nginx {
    /// Starts nginx listening on `port`, with `servers` (upstream and server blocks; the server
    /// must `listen 127.0.0.1:{port}`) inside its `http {}` block.
    pub async fn start(port: u16, servers: &str) -> Self {
        let bin = std::env::var("PROPUSK_TEST_NGINX")
            .unwrap_or_else(|_| panic!("PROPUSK_TEST_NGINX is not set: run the tests with scripts/test"));
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display();
        std::fs::create_dir(dir.path().join("tmp")).unwrap();
        let config = format!(
            "worker_processes 1;\ndaemon off;\npid {d}/nginx.pid;\nerror_log {d}/error.log warn;\n\
             events {{ worker_connections 256; }}\n\
             http {{\n  access_log off;\n  client_body_temp_path {d}/tmp; proxy_temp_path {d}/tmp; fastcgi_temp_path {d}/tmp;\n  \
             uwsgi_temp_path {d}/tmp; scgi_temp_path {d}/tmp;\n{servers}\n}}\n"
        );
        let conf = dir.path().join("nginx.conf");
        std::fs::write(&conf, config).unwrap();
        let child = Command::new(&bin)
            .arg("-p")
            .arg(dir.path())
            .arg("-c")
            .arg(&conf)
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start nginx ({bin}): {e}"));
        let nginx = Self { child, port, dir };
        for _ in 0..200 {
            if tokio::net::TcpStream::connect(("127.0.0.1", port)).await.is_ok() {
                return nginx;
            }
            tokio::time::sleep(std::time::Duration::from_millis(25)).await;
        }
        let log = std::fs::read_to_string(nginx.dir.path().join("error.log")).unwrap_or_default();
        panic!("nginx did not start: {log}");
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }
}
