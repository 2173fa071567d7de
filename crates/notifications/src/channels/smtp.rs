//! Email over SMTP with lettre: implicit TLS (port 465), STARTTLS (587,
//! SendGrid's relay among others) or plain (a local relay), with optional
//! authentication. 4xx replies and connection failures are retried, 5xx
//! replies are final.

use futures::future::BoxFuture;
use lettre::{
    AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor,
    message::{MultiPart, header::ContentType},
    transport::smtp::{
        authentication::Credentials,
        client::{Certificate, Tls, TlsParameters},
    },
};
use secrecy::{ExposeSecret, SecretString};
use uuid::Uuid;

use super::{Channel, Outgoing, SendError};

/// How the connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// TLS from the first byte.
    Tls,
    /// Plain, upgraded with STARTTLS (refused if the server cannot).
    StartTls,
    /// No encryption: only for a relay on the same host or network.
    None,
}

/// An SMTP server to send through.
pub struct Smtp {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: String,
}

impl std::fmt::Debug for Smtp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Smtp").finish_non_exhaustive()
    }
}

impl Smtp {
    /// A client of `host:port`. `extra_root` (PEM) is trusted besides the
    /// public roots, for a relay with a private CA.
    pub fn new(
        host: &str,
        port: u16,
        security: Security,
        credentials: Option<(String, SecretString)>,
        from: &str,
        timeout: std::time::Duration,
        extra_root: Option<&[u8]>,
    ) -> anyhow::Result<Self> {
        let tls = || -> anyhow::Result<TlsParameters> {
            let mut params = TlsParameters::builder(host.to_owned());
            if let Some(pem) = extra_root {
                params = params.add_root_certificate(Certificate::from_pem(pem)?);
            }
            Ok(params.build_rustls()?)
        };
        let tls = match security {
            Security::Tls => Tls::Wrapper(tls()?),
            // Required: a server that cannot upgrade gets no credentials
            // and no mail (no downgrade to plain text).
            Security::StartTls => Tls::Required(tls()?),
            Security::None => Tls::None,
        };
        let mut builder = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
            .port(port)
            .tls(tls)
            .timeout(Some(timeout));
        if let Some((user, password)) = credentials {
            builder =
                builder.credentials(Credentials::new(user, password.expose_secret().to_owned()));
        }
        // Fail at start on a bad sender, not on every message.
        from.parse::<lettre::message::Mailbox>()
            .map_err(|e| anyhow::anyhow!("notifications.from_email: {e}"))?;
        Ok(Self {
            transport: builder.build(),
            from: from.to_owned(),
        })
    }
}

/// The RFC 5322 message for an email (text and HTML alternatives).
pub fn build(from: &str, message: &Outgoing) -> Result<Message, SendError> {
    let Outgoing::Email {
        to,
        subject,
        text,
        html,
    } = message
    else {
        return Err(SendError::Permanent("not an email".into()));
    };
    let from = from
        .parse()
        .map_err(|e| SendError::Permanent(format!("sender: {e}")))?;
    let to = to
        .parse()
        .map_err(|e| SendError::Permanent(format!("recipient: {e}")))?;
    let builder = Message::builder()
        .from(from)
        .to(to)
        .subject(subject.as_str());
    let built = match html {
        Some(html) => builder.multipart(MultiPart::alternative_plain_html(
            text.clone(),
            html.clone(),
        )),
        None => builder.header(ContentType::TEXT_PLAIN).body(text.clone()),
    };
    built.map_err(|e| SendError::Permanent(e.to_string()))
}

impl Channel for Smtp {
    fn name(&self) -> &'static str {
        "smtp"
    }

    fn send<'a>(
        &'a self,
        _delivery_id: Uuid,
        message: &'a Outgoing,
    ) -> BoxFuture<'a, Result<Option<String>, SendError>> {
        Box::pin(async move {
            let email = build(&self.from, message)?;
            match self.transport.send(email).await {
                Ok(response) => Ok(response
                    .message()
                    .next()
                    .map(|line| line.trim().to_owned())
                    .filter(|line| !line.is_empty())),
                Err(e) if e.is_permanent() => Err(SendError::Permanent(e.to_string())),
                Err(e) => Err(SendError::Transient(e.to_string())),
            }
        })
    }
}
