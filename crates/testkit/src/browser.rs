//! A real browser for the storefront tests: headless Chromium driven over
//! WebDriver by its own chromedriver, with axe-core (as shipped in PyPI's
//! axe-selenium-python) injected to check each page's accessibility.

use std::{
    os::unix::process::CommandExt as _,
    process::{Child, Command, Stdio},
    time::{Duration, Instant},
};

use fantoccini::{Client, ClientBuilder, Locator, elements::Element};
use serde_json::{Value, json};

/// How long a page may take to show what a test waits for.
pub const PAGE_WAIT: Duration = Duration::from_secs(20);

/// A browser window and the chromedriver behind it.
pub struct Browser {
    /// The WebDriver session.
    pub client: Client,
    base: String,
    driver: Child,
    axe: String,
}

impl Browser {
    /// Chromium on `base` (`http://127.0.0.1:port`), with or without
    /// JavaScript, at a desktop width.
    pub async fn start(base: &str, javascript: bool) -> Self {
        let chromium = crate::installed("MERCATO_TEST_CHROMIUM", "Chromium");
        let chromedriver = crate::installed("MERCATO_TEST_CHROMEDRIVER", "chromedriver");
        let axe_path = crate::installed("MERCATO_TEST_AXE_JS", "axe-core (axe-selenium-python)");
        let axe = std::fs::read_to_string(&axe_path).expect("axe.min.js");
        let port = crate::free_port();
        let driver = Command::new(chromedriver)
            // Its own process group, so that the browsers it starts go
            // down with it.
            .process_group(0)
            .arg(format!("--port={port}"))
            .arg("--allowed-ips=127.0.0.1")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("chromedriver starts");
        let mut prefs = serde_json::Map::new();
        if !javascript {
            prefs.insert(
                "profile.managed_default_content_settings.javascript".into(),
                json!(2),
            );
        }
        let mut caps = serde_json::Map::new();
        caps.insert(
            "goog:chromeOptions".into(),
            json!({
                "binary": chromium,
                "args": [
                    "--headless=new", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-dev-shm-usage", "--window-size=1280,900",
                ],
                "prefs": prefs,
            }),
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        let client = loop {
            let connector = hyper_util::client::legacy::connect::HttpConnector::new();
            match ClientBuilder::new(connector)
                .capabilities(caps.clone())
                .connect(&format!("http://127.0.0.1:{port}"))
                .await
            {
                Ok(client) => break client,
                Err(e) if Instant::now() < deadline => {
                    let _ = e;
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(e) => panic!("chromedriver did not start a browser: {e}"),
            }
        };
        Self {
            client,
            base: base.trim_end_matches('/').to_owned(),
            driver,
            axe,
        }
    }

    /// Opens a path of the shop.
    pub async fn goto(&self, path: &str) {
        self.client
            .goto(&format!("{}{path}", self.base))
            .await
            .unwrap_or_else(|e| panic!("opening {path}: {e}"));
    }

    /// The current path and query.
    pub async fn path(&self) -> String {
        let url = self.client.current_url().await.expect("url");
        let mut path = url.path().to_owned();
        if let Some(q) = url.query() {
            path.push('?');
            path.push_str(q);
        }
        path
    }

    /// The first element matching `css`, waiting for it to appear.
    pub async fn find(&self, css: &str) -> Element {
        match self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::Css(css))
            .await
        {
            Ok(element) => element,
            Err(e) => {
                let shown = match self.client.find(Locator::Css("body")).await {
                    Ok(body) => body.text().await.unwrap_or_default(),
                    Err(_) => String::new(),
                };
                panic!(
                    "no element {css} on {}: {e}; the page shows:\n{shown}",
                    self.path_now().await
                )
            }
        }
    }

    async fn path_now(&self) -> String {
        self.client
            .current_url()
            .await
            .map(|u| u.to_string())
            .unwrap_or_default()
    }

    /// Every element matching `css` now.
    pub async fn all(&self, css: &str) -> Vec<Element> {
        self.client
            .find_all(Locator::Css(css))
            .await
            .expect("find_all")
    }

    /// Clicks the element matching `css`.
    pub async fn click(&self, css: &str) {
        self.find(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {css}: {e}"));
    }

    /// Clicks the link or button in the page's main content whose text is
    /// `text`.
    pub async fn click_text(&self, text: &str) {
        let xpath = format!(
            "//main//*[(self::a or self::button) and normalize-space(.)={}]",
            xpath_literal(text)
        );
        let element = match self
            .client
            .wait()
            .at_most(PAGE_WAIT)
            .for_element(Locator::XPath(&xpath))
            .await
        {
            Ok(element) => element,
            Err(e) => panic!(
                "no link or button {text:?} on {}: {e}",
                self.path_now().await
            ),
        };
        element
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking {text:?}: {e}"));
    }

    /// Replaces the value of the input matching `css`.
    pub async fn fill(&self, css: &str, value: &str) {
        let input = self.find(css).await;
        input.clear().await.expect("clear");
        input
            .send_keys(value)
            .await
            .unwrap_or_else(|e| panic!("typing into {css}: {e}"));
    }

    /// The text of the element matching `css`.
    pub async fn text(&self, css: &str) -> String {
        self.find(css).await.text().await.expect("text")
    }

    /// The whole page's visible text.
    pub async fn page_text(&self) -> String {
        self.text("body").await
    }

    /// Waits until the page's text contains `needle` (pages that refresh
    /// or update themselves).
    pub async fn wait_for_text(&self, needle: &str) {
        let deadline = Instant::now() + PAGE_WAIT;
        loop {
            let text = self.client.find(Locator::Css("body")).await.ok();
            let text = match text {
                Some(body) => body.text().await.unwrap_or_default(),
                None => String::new(),
            };
            if text.contains(needle) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{needle:?} did not appear on {}; the page shows:\n{text}",
                self.path_now().await
            );
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
    }

    /// Runs axe-core on the page and fails on any serious or critical
    /// violation, naming the rule and the elements.
    pub async fn assert_accessible(&self, page: &str) {
        self.client
            .execute(&self.axe, vec![])
            .await
            .expect("axe-core loads");
        let violations = self
            .client
            .execute_async(
                "const done = arguments[arguments.length - 1];
                 axe.run(document, {resultTypes: ['violations']})
                    .then(r => done(r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
                        nodes: v.nodes.map(n => n.target.join(' ') + ' ' + n.html + ' ' + n.failureSummary).slice(0, 5)}))))
                    .catch(e => done([{id: 'axe-error', impact: 'critical', help: String(e), nodes: []}]));",
                vec![],
            )
            .await
            .expect("axe-core runs");
        let serious: Vec<&Value> = violations
            .as_array()
            .map(|v| {
                v.iter()
                    .filter(|v| matches!(v["impact"].as_str(), Some("serious" | "critical")))
                    .collect()
            })
            .unwrap_or_default();
        assert!(
            serious.is_empty(),
            "accessibility violations on the {page} page: {}",
            serde_json::to_string_pretty(&serious).unwrap_or_default()
        );
    }

    /// Resizes the window (phone or desktop widths).
    pub async fn resize(&self, width: u32, height: u32) {
        self.client
            .set_window_size(width, height)
            .await
            .expect("resize");
    }

    /// Saves a PNG of the viewport when `MERCATO_SCREENSHOTS` names a
    /// folder (how docs/screenshots is made).
    pub async fn screenshot(&self, name: &str) {
        let Ok(dir) = std::env::var("MERCATO_SCREENSHOTS") else {
            return;
        };
        // From the top, as the page opens.
        let _ = self.client.execute("window.scrollTo(0, 0);", vec![]).await;
        let png = self.client.screenshot().await.expect("screenshot");
        std::fs::create_dir_all(&dir).expect("screenshot folder");
        std::fs::write(format!("{dir}/{name}.png"), png).expect("screenshot written");
    }

    /// Ends the session (the driver goes with the drop).
    pub async fn close(self) {
        let _ = self.client.clone().close().await;
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        // A failed test still takes its driver and browsers down.
        // `--`: without it a negative pid may be read as an option (and
        // `kill -KILL -1` is every process there is).
        let group = format!("-{}", self.driver.id());
        let _ = Command::new("kill")
            .args(["-s", "KILL", "--", group.as_str()])
            .status();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

fn xpath_literal(text: &str) -> String {
    if text.contains('\'') {
        format!("\"{text}\"")
    } else {
        format!("'{text}'")
    }
}
