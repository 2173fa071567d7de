"""A real SMTP server (aiosmtpd) for the tests, on loopback.

Every accepted message is stored as JSON (envelope, subject, text and
HTML parts) in the given folder, one file per message. To test retries it
can refuse the first N messages (or all of them) with a chosen reply code,
at the DATA stage, as a real server under load or with a full mailbox does.

With --user and --password it requires AUTH (PLAIN or LOGIN) before mail
and answers wrong credentials with 535, as a submission server does.

With --tls starttls (or implicit) it speaks TLS with a certificate for
127.0.0.1 from a throwaway CA (trustme), whose root it writes to --ca-out
for the client to trust.

Usage: server.py PORT DIR [--refuse-first N] [--refuse-code CODE] [--user U --password P]
                 [--tls starttls|implicit --ca-out FILE]
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import ssl

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword


class Store:
    def __init__(self, folder, refuse_first, refuse_code):
        self.folder = folder
        self.refuse_first = refuse_first
        self.refuse_code = refuse_code
        self.seen = 0

    async def handle_DATA(self, server, session, envelope):
        self.seen += 1
        if self.refuse_first < 0 or self.seen <= self.refuse_first:
            text = "Try again later" if self.refuse_code < 500 else "Mailbox unavailable"
            return f"{self.refuse_code} {text}"
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {"text/plain": None, "text/html": None}
        for part in message.walk():
            if part.get_content_type() in parts and parts[part.get_content_type()] is None:
                parts[part.get_content_type()] = part.get_content()
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "text": parts["text/plain"],
            "html": parts["text/html"],
        }
        name = f"{self.seen:06d}.json"
        tmp = os.path.join(self.folder, "." + name)
        with open(tmp, "w") as f:
            json.dump(record, f)
        os.rename(tmp, os.path.join(self.folder, name))
        return f"250 OK queued as test-{self.seen}"


def authenticator(user, password):
    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        # handled=False: aiosmtpd answers 535 itself on failure.
        return AuthResult(success=ok, handled=False)

    return check


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int)
    parser.add_argument("folder")
    parser.add_argument("--refuse-first", type=int, default=0, help="-1 refuses all")
    parser.add_argument("--refuse-code", type=int, default=451)
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--tls", choices=["starttls", "implicit"])
    parser.add_argument("--ca-out")
    args = parser.parse_args()
    tls = {}
    if args.tls:
        import trustme

        ca = trustme.CA()
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        ca.issue_cert("127.0.0.1", "localhost").configure_cert(context)
        ca.cert_pem.write_to_path(args.ca_out)
        if args.tls == "starttls":
            tls = dict(tls_context=context, require_starttls=True)
        else:
            tls = dict(ssl_context=context)
    auth = {}
    if args.user:
        # Loopback only, so AUTH without TLS is acceptable here.
        auth = dict(
            authenticator=authenticator(args.user, args.password),
            auth_required=True,
            auth_require_tls=False,
        )
    controller = Controller(
        Store(args.folder, args.refuse_first, args.refuse_code),
        hostname="127.0.0.1",
        port=args.port,
        **auth,
        **tls,
    )
    controller.start()
    print("ready", flush=True)
    try:
        asyncio.new_event_loop().run_forever()
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
