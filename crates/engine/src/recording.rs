//! A call's local recording: small tasks carry our camera and microphone, the speaker's mix
//! (everyone else's voices) and each member's decoded pictures into a `switchboard_media`
//! recorder, which composes, encodes and writes on its own thread.

use std::collections::HashSet;
use std::path::Path;

use switchboard_media::{Picture, RecordOptions, Recorder, RecorderFeed, RecordingSummary};
use switchboard_protocol::UserId;
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;

use crate::pipeline::{Capture, RemoteFrame};

/// Audio sources of the recording's mix.
const OWN_VOICE: u64 = 1;
const OTHERS: u64 = 2;
/// Our own pictures' source names (members are named by their user ids, their screens by
/// [`screen_name`]).
const OWN: &str = "\u{0}own";
const OWN_SCREEN: &str = "\u{0}own\u{0}screen";

fn screen_name(user: &UserId) -> String {
    format!("{user}\u{0}screen")
}

pub(crate) struct Recording {
    recorder: Option<Recorder>,
    feed: RecorderFeed,
    tasks: Vec<JoinHandle<()>>,
    watched: HashSet<UserId>,
    pub paused: bool,
}

/// Forwards a broadcast into the recorder until it closes (a lagging receiver skips ahead:
/// the recorder wants the latest, not every frame).
fn forward<T: Clone + Send + 'static>(
    mut rx: broadcast::Receiver<T>,
    mut each: impl FnMut(T) + Send + 'static,
    on_close: impl FnOnce() + Send + 'static,
) -> JoinHandle<()> {
    tokio::spawn(async move {
        loop {
            match rx.recv().await {
                Ok(v) => each(v),
                Err(RecvError::Lagged(_)) => continue,
                Err(RecvError::Closed) => break,
            }
        }
        on_close();
    })
}

impl Recording {
    /// Starts writing `path` with our own camera, microphone and the speaker's mix.
    pub fn start(
        path: &Path,
        options: RecordOptions,
        capture: &Capture,
    ) -> Result<Self, switchboard_media::RecordError> {
        let recorder = Recorder::start(path, options)?;
        let feed = recorder.feed();
        let f = feed.clone();
        let mut tasks = vec![forward(
            capture.video.subscribe(),
            move |p| f.video(OWN, Picture::Own, p),
            || {},
        )];
        let f = feed.clone();
        tasks.push(forward(
            capture.screen.subscribe(),
            move |p| f.video(OWN_SCREEN, Picture::Screen, p),
            || {},
        ));
        let f = feed.clone();
        tasks.push(forward(
            capture.audio.subscribe(),
            move |pcm| f.audio(OWN_VOICE, &pcm),
            || {},
        ));
        let f = feed.clone();
        tasks.push(forward(
            capture.played.subscribe(),
            move |pcm| f.audio(OTHERS, &pcm),
            || {},
        ));
        Ok(Self {
            recorder: Some(recorder),
            feed,
            tasks,
            watched: HashSet::new(),
            paused: false,
        })
    }

    /// Adds a member's camera and screen-share pictures (once per member; they leave the
    /// layout when the member's peer connection closes).
    pub fn watch(
        &mut self,
        user: &UserId,
        frames: broadcast::Receiver<RemoteFrame>,
        screen: broadcast::Receiver<RemoteFrame>,
    ) {
        if !self.watched.insert(user.clone()) {
            return;
        }
        for (rx, name, kind) in [
            (frames, user.to_string(), Picture::Camera),
            (screen, screen_name(user), Picture::Screen),
        ] {
            let (f, g) = (self.feed.clone(), self.feed.clone());
            let gone = name.clone();
            self.tasks.push(forward(
                rx,
                move |r: RemoteFrame| f.video(&name, kind, r.picture),
                move || g.leave(&gone, None),
            ));
        }
    }

    /// A member left: their pictures go (a rejoin is watched again).
    pub fn unwatch(&mut self, user: &UserId) {
        if self.watched.remove(user) {
            self.feed.leave(user.as_str(), None);
            self.screen_off(user);
        }
    }

    /// A member stopped sharing: the screen leaves the layout (it comes back with its next
    /// picture).
    pub fn screen_off(&self, user: &UserId) {
        self.feed.leave(&screen_name(user), None);
    }

    /// We stopped sharing.
    pub fn own_screen_off(&self) {
        self.feed.leave(OWN_SCREEN, None);
    }

    pub fn pause(&mut self, paused: bool) {
        self.paused = paused;
        if let Some(r) = &self.recorder {
            if paused { r.pause() } else { r.resume() }
        }
    }

    /// Whether it still writes (a write error stops it).
    pub fn is_running(&self) -> bool {
        self.recorder.as_ref().is_some_and(Recorder::is_running)
    }

    /// Stops the sources and writes the last fragment.
    pub async fn stop(mut self) -> Option<RecordingSummary> {
        for t in self.tasks.drain(..) {
            t.abort();
        }
        let recorder = self.recorder.take()?;
        // Joining the recorder's thread waits for its last fragment: not on the runtime.
        tokio::task::spawn_blocking(move || recorder.stop())
            .await
            .ok()
    }
}

impl Drop for Recording {
    fn drop(&mut self) {
        for t in self.tasks.drain(..) {
            t.abort();
        }
    }
}
