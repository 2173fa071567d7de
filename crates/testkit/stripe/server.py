"""Runs localstripe (a stateful fake of Stripe's API, from PyPI) on
127.0.0.1:PORT for one test. Its own CLI binds every interface and saves
its state to /tmp after each write, which parallel tests would share;
this keeps the state in memory and listens on loopback only.

localstripe 1.15 predates `automatic_payment_methods` (2023) and refuses
unknown parameters; it is accepted here with the only value Stripe
allows, and the intent then takes cards, as it would on a card-only
account. Nothing else about its behaviour is changed.

Usage: server.py PORT
"""

import sys

from aiohttp import web

from localstripe import resources, server
from localstripe.errors import UserError

resources.Store.dump_to_disk = lambda self: None

_payment_intent_init = resources.PaymentIntent.__init__


def _payment_intent_init_with_automatic_methods(
        self, *args, automatic_payment_methods=None, **kwargs):
    if automatic_payment_methods is not None and \
            automatic_payment_methods != {'enabled': 'true'}:
        raise UserError(400, 'Bad request')
    _payment_intent_init(self, *args, **kwargs)


resources.PaymentIntent.__init__ = _payment_intent_init_with_automatic_methods

web.run_app(server.app, host='127.0.0.1', port=int(sys.argv[1]),
            print=None, access_log=None)
