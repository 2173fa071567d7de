//! The development sink: each message is written under a folder
//! (`./data/outbox/` by default) as an `.eml` file (a real RFC 5322
//! message, openable in any mail program) or an `.sms.txt` file.

use std::path::PathBuf;

use futures::future::BoxFuture;
use uuid::Uuid;

use super::{Channel, Outgoing, SendError};

/// Writes messages to files.
#[derive(Debug, Clone)]
pub struct FileSink {
    dir: PathBuf,
    from: String,
}

impl FileSink {
    /// A sink writing under `dir` (created if missing), mail from `from`.
    pub fn new(dir: PathBuf, from: &str) -> anyhow::Result<Self> {
        std::fs::create_dir_all(&dir)?;
        Ok(Self {
            dir,
            from: from.to_owned(),
        })
    }
}

impl Channel for FileSink {
    fn name(&self) -> &'static str {
        "file"
    }

    fn send<'a>(
        &'a self,
        delivery_id: Uuid,
        message: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Option<String>, SendError>> {
        Box::pin(async move {
            let (file, bytes) = match message {
                Outgoing::Email { .. } => {
                    let email = super::smtp::build(&self.from, message)?;
                    (format!("{delivery_id}.eml"), email.formatted())
                }
                Outgoing::Sms { to, body } => (
                    format!("{delivery_id}.sms.txt"),
                    format!("To: {to}\n\n{body}\n").into_bytes(),
                ),
            };
            // Written whole under a temporary name, then renamed: a reader
            // never sees half a message.
            let tmp = self.dir.join(format!(".{file}.tmp"));
            tokio::fs::write(&tmp, bytes)
                .await
                .map_err(|e| SendError::Transient(e.to_string()))?;
            tokio::fs::rename(&tmp, self.dir.join(&file))
                .await
                .map_err(|e| SendError::Transient(e.to_string()))?;
            Ok(Some(file))
        })
    }
}
