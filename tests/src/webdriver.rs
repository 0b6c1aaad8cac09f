//! Driving the real app through `tauri-driver` (which runs WebKitWebDriver): a small W3C
//! WebDriver client over HTTP, enough for sign-in, clicks, typing, attributes and screenshots.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use serde_json::{Value, json};

/// The key W3C WebDriver uses for element references.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A WebDriver session with the app.
pub struct Driver {
    driver: Child,
    base: String,
    session: String,
    http: ureq::Agent,
    /// The app's throw-away XDG directories (webview storage, window state, caches).
    _home: tempfile::TempDir,
}

/// An element of the page.
#[derive(Debug, Clone)]
pub struct El(String);

/// A decoded screenshot (RGBA).
pub struct Shot {
    pub width: usize,
    pub height: usize,
    pub rgba: Vec<u8>,
    pub png: Vec<u8>,
}

impl Shot {
    /// BT.601 luma of each pixel (what the stamp reader reads).
    pub fn luma(&self) -> Vec<u8> {
        self.rgba
            .chunks_exact(4)
            .map(|p| {
                ((299 * u32::from(p[0]) + 587 * u32::from(p[1]) + 114 * u32::from(p[2])) / 1000)
                    as u8
            })
            .collect()
    }
}

fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

impl Driver {
    /// Starts `tauri-driver` and, through it, the app at `app` with `args`; `env` goes to the
    /// driver and so to the app (display, data directory, sound server).
    pub fn start(app: &Path, args: &[&str], env: &[(&str, &str)], log: &Path) -> Result<Self> {
        let (port, native) = (free_port()?, free_port()?);
        // `cargo xtask test` says where it installed tauri-driver.
        let exe = std::env::var_os("TAURI_DRIVER").unwrap_or_else(|| "tauri-driver".into());
        let mut cmd = Command::new(exe);
        cmd.args([
            "--port",
            &port.to_string(),
            "--native-port",
            &native.to_string(),
        ])
        // The driver's, WebKitWebDriver's and the app's output go to a file, never to the
        // terminal: WebKitWebDriver makes itself a session leader, and one holding a terminal
        // hangs up the terminal's foreground jobs when it ends.
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(log).context("the driver's log file")?);
        // Never the developer's own directories: a theme or window size one run saved must
        // not change the next (`env` may still point somewhere else).
        let home = tempfile::tempdir()?;
        for (k, d) in [
            ("XDG_DATA_HOME", "data"),
            ("XDG_CONFIG_HOME", "config"),
            ("XDG_CACHE_HOME", "cache"),
        ] {
            cmd.env(k, home.path().join(d));
        }
        for (k, v) in env {
            cmd.env(k, v);
        }
        let driver = cmd
            .spawn()
            .context("starting tauri-driver (`cargo xtask setup` installs it)")?;
        let http: ureq::Agent = ureq::Agent::config_builder()
            .timeout_global(Some(Duration::from_secs(120)))
            .http_status_as_error(false)
            .build()
            .into();
        let base = format!("http://127.0.0.1:{port}");
        let mut me = Self {
            driver,
            base,
            session: String::new(),
            http,
            _home: home,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while me.http.get(format!("{}/status", me.base)).call().is_err() {
            if Instant::now() > deadline {
                bail!("tauri-driver did not listen on {port} within 20 s");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"tauri:options": {
            "application": app,
            "args": args,
        }}}});
        let v = me.post("/session", &caps)?;
        me.session = v["sessionId"].as_str().context("no session id")?.to_owned();
        Ok(me)
    }

    fn call(&self, method: &str, path: &str, body: Option<&Value>) -> Result<Value> {
        let url = if path.starts_with("/session") && !self.session.is_empty() {
            format!("{}/session/{}{}", self.base, self.session, &path[8..])
        } else {
            format!("{}{}", self.base, path)
        };
        let mut reply = match (method, body) {
            ("POST", Some(b)) => self.http.post(&url).send_json(b)?,
            ("DELETE", _) => self.http.delete(&url).call()?,
            _ => self.http.get(&url).call()?,
        };
        let status = reply.status().as_u16();
        let v: Value = reply.body_mut().read_json()?;
        if status >= 400 {
            bail!("{method} {path}: {status} {}", v["value"]);
        }
        Ok(v["value"].clone())
    }

    fn post(&self, path: &str, body: &Value) -> Result<Value> {
        // `/session` itself is created on the driver, not inside a session.
        if path == "/session" {
            let mut reply = self
                .http
                .post(format!("{}/session", self.base))
                .send_json(body)?;
            let status = reply.status().as_u16();
            let v: Value = reply.body_mut().read_json()?;
            if status >= 400 {
                bail!("new session: {status} {}", v["value"]);
            }
            return Ok(v["value"].clone());
        }
        self.call("POST", path, Some(body))
    }

    /// The first element matching `css`, waiting up to `limit` for it.
    pub fn find(&self, css: &str, limit: Duration) -> Result<El> {
        let deadline = Instant::now() + limit;
        loop {
            let r = self.post(
                "/session/element",
                &json!({"using": "css selector", "value": css}),
            );
            if let Ok(v) = r
                && let Some(id) = v[ELEMENT].as_str()
            {
                return Ok(El(id.to_owned()));
            }
            if Instant::now() > deadline {
                bail!("no element {css:?} within {limit:?}");
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    pub fn click(&self, el: &El) -> Result<()> {
        self.post(&format!("/session/element/{}/click", el.0), &json!({}))?;
        Ok(())
    }

    pub fn type_text(&self, el: &El, text: &str) -> Result<()> {
        self.post(&format!("/session/element/{}/clear", el.0), &json!({}))?;
        self.post(
            &format!("/session/element/{}/value", el.0),
            &json!({ "text": text }),
        )?;
        Ok(())
    }

    pub fn attr(&self, el: &El, name: &str) -> Result<Option<String>> {
        let v = self.call(
            "GET",
            &format!("/session/element/{}/attribute/{name}", el.0),
            None,
        )?;
        Ok(v.as_str().map(str::to_owned))
    }

    pub fn text(&self, el: &El) -> Result<String> {
        let v = self.call("GET", &format!("/session/element/{}/text", el.0), None)?;
        Ok(v.as_str().unwrap_or_default().to_owned())
    }

    /// Waits until `css` exists and its attribute satisfies `ok`; returns the value.
    pub fn wait_attr(
        &self,
        css: &str,
        name: &str,
        limit: Duration,
        ok: impl Fn(&str) -> bool,
    ) -> Result<String> {
        let deadline = Instant::now() + limit;
        let mut last = None;
        loop {
            if let Ok(el) = self.find(css, Duration::ZERO)
                && let Ok(Some(v)) = self.attr(&el, name)
            {
                if ok(&v) {
                    return Ok(v);
                }
                last = Some(v);
            }
            if Instant::now() > deadline {
                bail!("{css} [{name}] not as wanted within {limit:?} (last {last:?})");
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Sets the window's outer size.
    pub fn set_window_size(&self, width: u32, height: u32) -> Result<()> {
        self.post(
            "/session/window/rect",
            &json!({"width": width, "height": height}),
        )?;
        Ok(())
    }

    /// Runs a script in the page and returns its value.
    pub fn script(&self, js: &str) -> Result<Value> {
        self.post("/session/execute/sync", &json!({"script": js, "args": []}))
    }

    fn decode(b64: &Value) -> Result<Shot> {
        let png = base64::engine::general_purpose::STANDARD
            .decode(b64.as_str().context("no screenshot")?)
            .context("screenshot base64")?;
        let mut decoder = png::Decoder::new(std::io::Cursor::new(png.clone()));
        decoder.set_transformations(png::Transformations::normalize_to_color8());
        let mut reader = decoder.read_info()?;
        let mut buf = vec![0; reader.output_buffer_size().context("png size")?];
        let info = reader.next_frame(&mut buf)?;
        let (w, h) = (info.width as usize, info.height as usize);
        let rgba = match info.color_type {
            png::ColorType::Rgba => buf[..w * h * 4].to_vec(),
            png::ColorType::Rgb => buf[..w * h * 3]
                .chunks_exact(3)
                .flat_map(|p| [p[0], p[1], p[2], 255])
                .collect(),
            other => bail!("screenshot colour type {other:?}"),
        };
        Ok(Shot {
            width: w,
            height: h,
            rgba,
            png,
        })
    }

    /// A screenshot of the whole window.
    pub fn screenshot(&self) -> Result<Shot> {
        Self::decode(&self.call("GET", "/session/screenshot", None)?)
    }

    /// An element's rectangle in the window (CSS pixels, may be fractional).
    pub fn rect(&self, el: &El) -> Result<(f64, f64, f64, f64)> {
        let r = self.call("GET", &format!("/session/element/{}/rect", el.0), None)?;
        let num = |k: &str| r[k].as_f64().unwrap_or(0.0);
        Ok((num("x"), num("y"), num("width"), num("height")))
    }

    /// One element, cut from a screenshot of the window. (WebKitWebDriver's own element
    /// screenshots leave WebGL canvases black.)
    pub fn element_screenshot(&self, el: &El) -> Result<Shot> {
        let (x, y, w, h) = self.rect(el)?;
        let px = |v: f64| v.round().max(0.0) as usize;
        self.screenshot()?.crop(px(x), px(y), px(w), px(h))
    }
}

impl Shot {
    /// The part at (`x`, `y`) of `w` × `h` (clipped to the picture).
    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Result<Shot> {
        let w = w.min(self.width.saturating_sub(x));
        let h = h.min(self.height.saturating_sub(y));
        if w == 0 || h == 0 {
            bail!(
                "({x}, {y}) {w}×{h} is outside the {}×{} picture",
                self.width,
                self.height
            );
        }
        let mut rgba = Vec::with_capacity(w * h * 4);
        for row in y..y + h {
            let at = (row * self.width + x) * 4;
            rgba.extend_from_slice(&self.rgba[at..at + w * 4]);
        }
        let mut png = Vec::new();
        {
            let mut enc = png::Encoder::new(&mut png, w as u32, h as u32);
            enc.set_color(png::ColorType::Rgba);
            enc.set_depth(png::BitDepth::Eight);
            enc.write_header()?.write_image_data(&rgba)?;
        }
        Ok(Shot {
            width: w,
            height: h,
            rgba,
            png,
        })
    }
}

impl Drop for Driver {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", "/session", None);
        }
        // tauri-driver stops WebKitWebDriver itself on SIGTERM; give it a moment. (Nothing
        // here signals WebKitWebDriver directly: doing so took down the whole test run.)
        let _ = Command::new("kill")
            .args(["-TERM", &self.driver.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(3);
        while Instant::now() < deadline && matches!(self.driver.try_wait(), Ok(None)) {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
