"""The process's SMTP connection: reused from one email to the next, replaced when it was dropped;
and the log transport, which sends nothing."""

from __future__ import annotations

import logging
import socket
from email.message import EmailMessage

import pytest

from jobs.email import SENT, SmtpConnection, send_message
from tests.conftest import make_settings
from tests.jobs.sink import Sink


def _message(number: int) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "taskql <no-reply@mail.taskql.test>"
    message["To"] = "ada@smtp.test"
    message["Subject"] = f"number {number}"
    message["Message-ID"] = f"<smtp-connection.{number}@mail.taskql.test>"
    message.set_content("hello")
    return message


def test_emails_share_one_connection_and_a_dropped_one_is_replaced(sink: Sink) -> None:
    settings = make_settings(smtp_host="127.0.0.1", smtp_port=sink.port)
    connection = SmtpConnection()
    before = len(sink.peers)
    # When two emails are sent one after the other
    connection.send(settings, _message(1))
    connection.send(settings, _message(2))
    # Then both arrived over the same connection
    first, second = sink.peers[before:]
    assert first == second
    # When the connection breaks between two emails (a server's idle timeout, say)
    smtp = connection._smtp  # the test breaks the socket under it
    assert smtp is not None
    assert smtp.sock is not None
    # (shutdown, not close: smtplib's reader holds the socket open past a close())
    smtp.sock.shutdown(socket.SHUT_RDWR)
    connection.send(settings, _message(3))
    # Then the email went over a new connection, and was not lost
    assert connection._smtp is not None
    assert connection._smtp is not smtp
    assert sink.peers[-1] != first
    assert sink.deliveries["<smtp-connection.3@mail.taskql.test>"] == 1
    connection.close()
    assert connection._smtp is None


def test_the_log_transport_writes_the_email_to_the_log_and_sends_nothing(
    sink: Sink, caplog: pytest.LogCaptureFixture
) -> None:
    settings = make_settings(smtp_host="127.0.0.1", smtp_port=sink.port, email_transport="log")
    before = len(sink.peers)
    with caplog.at_level(logging.INFO, logger="taskql.jobs.email"):
        assert send_message(settings, _message(5)) == SENT
    assert len(sink.peers) == before
    [record] = [r for r in caplog.records if "<smtp-connection.5@mail.taskql.test>" in r.getMessage()]
    assert "number 5" in record.getMessage()
