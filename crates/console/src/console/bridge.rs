//! The pictures the webview shows: the video endpoint and the IPC-channel tiles.

use std::sync::Arc;

use switchboard_protocol::{CallId, UserId};

use crate::video;

use super::*;

impl Console {
    /// Finds a tile's pictures in the signed-in engine.
    pub(super) fn video_sources(self: &Arc<Self>) -> video::Sources {
        let me = Arc::downgrade(self);
        Arc::new(move |tile| {
            let me = me.clone();
            Box::pin(async move {
                let me = me.upgrade()?;
                let (engine, _) = me.engine().await.ok()?;
                match tile {
                    video::Tile::Local => engine.local_frames().await.map(video::Source::Local),
                    video::Tile::Remote { call_id, user } => engine
                        .remote_frames(&CallId::new(call_id).ok()?, &UserId::new(user).ok()?)
                        .await
                        .map(video::Source::Remote),
                    video::Tile::Screen { call_id, user } => engine
                        .remote_screen_frames(&CallId::new(call_id).ok()?, &UserId::new(user).ok()?)
                        .await
                        .map(video::Source::Remote),
                }
            })
        })
    }

    /// Where the webview's video tiles connect; starts the bridge at the first call.
    pub async fn video_endpoint(self: &Arc<Self>) -> CmdResult<video::Endpoint> {
        if let Some(e) = lock(&self.video).clone() {
            return Ok(e);
        }
        let e = video::start(self.video_sources())
            .await
            .map_err(|e| CommandError::new("video", e))?;
        *lock(&self.video) = Some(e.clone());
        Ok(e)
    }

    /// The IPC-channel transport for a tile (measured against the WebSocket, docs/app.md):
    /// pictures go to `send` until `video_push_close`. Returns the tile's id.
    pub async fn video_push(
        self: &Arc<Self>,
        path: &str,
        size: (usize, usize),
        send: impl Fn(Vec<u8>) -> bool + Send + 'static,
    ) -> CmdResult<u32> {
        let tile = video::Tile::from_path(path)
            .ok_or_else(|| CommandError::new("bad_input", format!("no tile {path:?}")))?;
        let limit = tile.limit();
        let source = (self.video_sources())(tile)
            .await
            .ok_or_else(|| CommandError::new("video", format!("no pictures for {path}")))?;
        let (tx, rx) = tokio::sync::watch::channel(size);
        let task = video::push(source, limit, rx, send);
        let mut pushes = lock(&self.pushes);
        pushes.1 += 1;
        let id = pushes.1;
        pushes.0.insert(id, (task, tx));
        Ok(id)
    }

    pub fn video_push_resize(&self, id: u32, size: (usize, usize)) {
        if let Some((_, tx)) = lock(&self.pushes).0.get(&id) {
            let _ = tx.send(size);
        }
    }

    pub fn video_push_close(&self, id: u32) {
        if let Some((task, _)) = lock(&self.pushes).0.remove(&id) {
            task.abort();
        }
    }
}
