"""A real SMTP server for the mail tests (aiosmtpd), writing each message it accepts to a
directory as JSON: envelope, subject, and the plain-text and HTML parts as a mail client reads
them.

Usage: python smtp_server.py PORT DIRECTORY

Recipients whose address starts with `refused` are refused for good (550); while a file named
`busy` exists in DIRECTORY every other recipient is refused for now (451).
"""

import email
import email.policy
import json
import os
import sys
import time

from aiosmtpd.controller import Controller


class Keeper:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if address.startswith("refused"):
            return "550 5.1.1 No such mailbox here"
        if os.path.exists(os.path.join(self.directory, "busy")):
            return "451 4.3.0 Mailbox busy, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        message = email.message_from_bytes(envelope.original_content, policy=email.policy.default)
        text = message.get_body(preferencelist=("plain",))
        html = message.get_body(preferencelist=("html",))
        kept = {
            "mailFrom": envelope.mail_from,
            "rcptTos": envelope.rcpt_tos,
            "from": str(message["From"]),
            "to": str(message["To"]),
            "subject": str(message["Subject"]),
            "text": text.get_content() if text is not None else None,
            "html": html.get_content() if html is not None else None,
        }
        self.count += 1
        name = os.path.join(self.directory, "%06d.json" % self.count)
        with open(name + ".tmp", "w") as f:
            json.dump(kept, f)
        os.rename(name + ".tmp", name)
        return "250 Message accepted"


def main():
    port, directory = int(sys.argv[1]), sys.argv[2]
    controller = Controller(Keeper(directory), hostname="127.0.0.1", port=port)
    controller.start()
    print("ready", flush=True)
    try:
        while True:
            time.sleep(3600)
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
