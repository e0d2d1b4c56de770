//! A small W3C WebDriver client for the console's browser tests: Debian's
//! `chromedriver` driving headless `chromium` on loopback, over the
//! protocol's JSON (navigate, find, type, click, read, run a script, take
//! a screenshot). `Browser::start` is `None` where either is missing, and
//! the caller says it skipped. Downloads land in a directory of the test's.

use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub struct Browser {
    http: reqwest::Client,
    url: String,
    driver: Child,
    pub downloads: tempfile::TempDir,
    _profile: tempfile::TempDir,
}

fn chromium_binary() -> Option<PathBuf> {
    // Debian's /usr/bin/chromium is a wrapper script; the driver wants the program.
    ["/usr/lib/chromium/chromium", "/usr/bin/chromium"].iter().map(PathBuf::from).find(|p| p.exists())
}

impl Browser {
    /// A fresh headless browser with an empty profile, or `None` (and a
    /// line saying why) where Chromium or ChromeDriver is not installed.
    pub async fn start() -> Option<Browser> {
        let Some(binary) = chromium_binary() else {
            eprintln!("SKIPPED: no chromium (scripts/deps.sh installs Debian's chromium)");
            return None;
        };
        if Command::new("chromedriver").arg("--version").output().is_err() {
            eprintln!("SKIPPED: no chromedriver (scripts/deps.sh installs Debian's chromium-driver)");
            return None;
        }
        let port = crate::support::free_port();
        let driver = Command::new("chromedriver")
            .arg(format!("--port={port}"))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = reqwest::Client::builder().timeout(Duration::from_secs(60)).build().unwrap();
        let url = format!("http://127.0.0.1:{port}");
        for _ in 0..100 {
            if let Ok(r) = http.get(format!("{url}/status")).send().await {
                if r.status().is_success() {
                    break;
                }
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let downloads = tempfile::tempdir().unwrap();
        let profile = tempfile::tempdir().unwrap();
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {
                "binary": binary,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--disable-quic", "--no-first-run", "--disable-background-networking",
                         "--disable-component-update", "--disable-sync", "--window-size=1280,900",
                         format!("--user-data-dir={}", profile.path().display())],
                "prefs": {"download.default_directory": downloads.path(), "download.prompt_for_download": false}
            }
        }}});
        let r: Value = http.post(format!("{url}/session")).json(&caps).send().await.unwrap().json().await.unwrap();
        let session = r["value"]["sessionId"].as_str().unwrap_or_else(|| panic!("no WebDriver session: {r}"));
        let url = format!("{url}/session/{session}");
        Some(Browser { http, url, driver, downloads, _profile: profile })
    }

    async fn cmd(&self, method: reqwest::Method, path: &str, body: Option<Value>) -> Value {
        let mut rb = self.http.request(method, format!("{}{path}", self.url));
        if let Some(b) = body {
            rb = rb.json(&b);
        }
        let r: Value = rb.send().await.expect("WebDriver").json().await.expect("WebDriver JSON");
        if let Some(e) = r["value"].get("error") {
            panic!("WebDriver {path}: {e} {}", r["value"]["message"]);
        }
        r["value"].clone()
    }

    pub async fn go(&self, url: &str) {
        self.cmd(reqwest::Method::POST, "/url", Some(json!({ "url": url }))).await;
    }

    pub async fn url(&self) -> String {
        self.cmd(reqwest::Method::GET, "/url", None).await.as_str().unwrap().to_string()
    }

    pub async fn source(&self) -> String {
        self.cmd(reqwest::Method::GET, "/source", None).await.as_str().unwrap().to_string()
    }

    async fn find(&self, css: &str) -> String {
        let v = self.cmd(reqwest::Method::POST, "/element", Some(json!({"using": "css selector", "value": css}))).await;
        v[ELEMENT].as_str().unwrap_or_else(|| panic!("find {css}: {v}")).to_string()
    }

    /// Types into a field (after clearing it).
    pub async fn fill(&self, css: &str, text: &str) {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{e}/clear"), Some(json!({}))).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{e}/value"), Some(json!({ "text": text }))).await;
    }

    pub async fn click(&self, css: &str) {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::POST, &format!("/element/{e}/click"), Some(json!({}))).await;
    }

    /// Sets a field's value as a script would (a date-time picker's typed
    /// form depends on the browser's locale).
    pub async fn set_value(&self, css: &str, value: &str) {
        let e = self.find(css).await;
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": "arguments[0].value = arguments[1];", "args": [{ ELEMENT: e }, value]})),
        )
        .await;
    }

    /// Clicks a button that loads a new page, and waits until it has.
    pub async fn submit(&self, css: &str) {
        let mark = json!({"script": "window.__old_page = true; return 1;", "args": []});
        self.cmd(reqwest::Method::POST, "/execute/sync", Some(mark)).await;
        self.click(css).await;
        let probe = json!({"script": "return document.readyState === 'complete' && !window.__old_page;", "args": []});
        for _ in 0..200 {
            if self.cmd(reqwest::Method::POST, "/execute/sync", Some(probe.clone())).await == Value::Bool(true) {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("{css}: no new page loaded");
    }

    /// Chooses an option of a `<select>` by its value, as a keyboard would.
    pub async fn choose(&self, css: &str, value: &str) {
        self.click(&format!("{css} option[value=\"{value}\"]")).await;
    }

    pub async fn text(&self, css: &str) -> String {
        let e = self.find(css).await;
        self.cmd(reqwest::Method::GET, &format!("/element/{e}/text"), None).await.as_str().unwrap().to_string()
    }

    /// Presses the keys one after another on the page (e.g. Tab).
    pub async fn keys(&self, keys: &str) {
        let actions: Vec<Value> = keys
            .chars()
            .flat_map(|c| {
                [json!({"type": "keyDown", "value": c.to_string()}), json!({"type": "keyUp", "value": c.to_string()})]
            })
            .collect();
        self.cmd(
            reqwest::Method::POST,
            "/actions",
            Some(json!({"actions": [{"type": "key", "id": "keyboard", "actions": actions}]})),
        )
        .await;
    }

    /// The `id` of the focused element.
    pub async fn focused_id(&self) -> String {
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/execute/sync",
                Some(json!({"script": "return document.activeElement ? document.activeElement.id : ''", "args": []})),
            )
            .await;
        v.as_str().unwrap_or("").to_string()
    }

    /// The accessibility checker's violations of WCAG 2 A and AA on this
    /// page (`rule: count`), or `None` where axe-core is not installed.
    pub async fn accessibility(&self) -> Option<Vec<String>> {
        let axe = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/test-tools/node_modules/axe-core/axe.min.js");
        let Ok(src) = std::fs::read_to_string(&axe) else {
            eprintln!("SKIPPED accessibility check: no axe-core (scripts/deps.sh installs it)");
            return None;
        };
        self.cmd(
            reqwest::Method::POST,
            "/execute/sync",
            Some(json!({"script": format!("{src}\nreturn 1;"), "args": []})),
        )
        .await;
        let v = self
            .cmd(
                reqwest::Method::POST,
                "/execute/async",
                Some(json!({"script": "const done = arguments[arguments.length - 1];
                    axe.run(document, {runOnly: {type: 'tag', values: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa']}})
                      .then(r => done(r.violations.map(v => v.id + ': ' + v.nodes.length + ' ' + v.nodes.map(n => n.target.join(' ')).join(', '))))
                      .catch(e => done(['axe failed: ' + e]));", "args": []})),
            )
            .await;
        Some(v.as_array().unwrap().iter().map(|x| x.as_str().unwrap().to_string()).collect())
    }

    pub async fn screenshot(&self, to: &Path) {
        use base64::Engine;
        let v = self.cmd(reqwest::Method::GET, "/screenshot", None).await;
        let png = base64::engine::general_purpose::STANDARD.decode(v.as_str().unwrap()).unwrap();
        std::fs::write(to, png).unwrap();
    }

    /// Waits for a finished download whose name ends with `ext`.
    pub async fn downloaded(&self, ext: &str) -> PathBuf {
        for _ in 0..200 {
            let found = std::fs::read_dir(self.downloads.path())
                .unwrap()
                .filter_map(|e| e.ok())
                .map(|e| e.path())
                .find(|p| p.to_string_lossy().ends_with(ext));
            if let Some(p) = found {
                return p;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("no {ext} file was downloaded");
    }

    /// Ends the session (the browser quits) and the driver.
    pub async fn quit(mut self) {
        let _ = self.http.delete(&self.url).send().await;
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.driver.kill();
    }
}
