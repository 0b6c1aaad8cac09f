//! `x11-screenshot [--wait-drawn SECS] OUT.png`: saves a PNG of the X display in `DISPLAY`,
//! optionally waiting until something is drawn. Used by `cargo xtask run --headless`.

use std::time::Duration;

use anyhow::{Context, Result, bail};
use switchboard_tests::x11;

fn main() -> Result<()> {
    let mut args = std::env::args().skip(1);
    let mut wait = None;
    let mut out = None;
    while let Some(a) = args.next() {
        match a.as_str() {
            "--wait-drawn" => {
                let secs: u64 = args.next().context("--wait-drawn needs seconds")?.parse()?;
                wait = Some(Duration::from_secs(secs));
            }
            _ if out.is_none() => out = Some(a),
            _ => bail!("usage: x11-screenshot [--wait-drawn SECS] OUT.png"),
        }
    }
    let out = out.context("usage: x11-screenshot [--wait-drawn SECS] OUT.png")?;
    let display = std::env::var("DISPLAY").context("DISPLAY is not set")?;
    let shot = match wait {
        Some(limit) => x11::wait_drawn(&display, None, 16, limit)?,
        None => x11::Screenshot::capture(&display, None)?,
    };
    shot.save_png(out.as_ref())?;
    Ok(())
}
