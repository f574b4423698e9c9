"""Numbers kept in full, masked or as pseudonyms; roles; retention; a caller's export and erasure; the audit log."""

from __future__ import annotations

import stat

import pytest

from appliance import config as configuration
from appliance.core.clock import BoxClock
from appliance.records.privacy import Privacy, load_secret, mask, shown
from appliance.records.store.access import AccessStore
from appliance.records.store.calls import CallStore
from appliance.records.store.journal import Journal, JournaledStore
from appliance.records.store.queries import CallLog
from appliance.records.store.retention import enforce_retention, erase_caller, export_caller
from appliance.service.keeper import RecordKeeper
from tests.support.calls import NUMBER, record, write
from tests.support.storage_faults import FullDisk

DAY = 86400.0


@pytest.mark.parametrize("number, masked", [
    ("+79161234567", "+7 *** ***-45-67"),
    ("+7 (916) 123-45-67", "+7 *** ***-45-67"),
    ("+442079460123", "+44 *** ***-01-23"),
    ("+3531234567", "+353 *** ***-45-67"),
    ("89161234567", "*** ***-45-67"),
    ("112", "***12"),
])
def test_masking_keeps_the_country_and_the_last_four_digits(number, masked):
    assert mask(number) == masked


def test_operators_see_masked_numbers_and_supervisors_see_them_as_stored():
    assert shown(NUMBER, "operator") == "+7 *** ***-45-67"
    assert shown(NUMBER, "admin") == NUMBER and shown(NUMBER, "supervisor") == NUMBER
    assert shown("~0123456789ab", "operator") == "~0123456789ab"
    assert shown(None, "operator") is None


def test_the_box_secret_is_made_once_private_and_kept(tmp_path):
    secret = load_secret(tmp_path)
    path = tmp_path / "privacy.key"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert load_secret(tmp_path) == secret and len(secret) == 32
    first = Privacy("pseudonym", secret).key("+7 916 123 45 67")
    assert first == Privacy("full", load_secret(tmp_path)).key(NUMBER)
    assert Privacy("full", b"another box secret!!").key(NUMBER) != first


def test_an_unknown_mode_is_refused_before_any_secret_is_made(tmp_path):
    with pytest.raises(ValueError, match="privacy mode 'hidden'"):
        Privacy.for_data_dir(tmp_path, "hidden")
    assert not (tmp_path / "privacy.key").exists()


def _files_text(tmp_path) -> bytes:
    return b"".join(p.read_bytes() for p in tmp_path.glob("calls.db*"))


@pytest.mark.parametrize("mode, stored", [("masked", "+7 *** ***-45-67"), ("pseudonym", "~")])
def test_in_private_modes_the_number_is_never_written_but_history_still_links_calls(tmp_path, mode, stored):
    store = CallStore(tmp_path / "calls.db", privacy=Privacy.for_data_dir(tmp_path, mode))
    try:
        write(store, record("c1", 1000.0))
        store.add_note("c1", "Anna", "Second call about the flat", now=1100.0)
        write(store, record("c2", 5000.0))
        store.upsert_contact(NUMBER, name="Ivan", note=None, author="Anna", now=6000.0)
        store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        store.close()
    raw = _files_text(tmp_path)
    assert NUMBER.encode() not in raw and b"9161234567" not in raw
    call = CallLog(tmp_path / "calls.db").call("c2", role="admin")
    assert call["caller"].startswith(stored)
    assert call["history"]["count"] == 1 and call["history"]["notes"][0]["text"] == "Second call about the flat"
    # Staff can still find the caller by the number they are given.
    assert [c["id"] for c in CallLog(tmp_path / "calls.db").search(caller=NUMBER)] == ["c2", "c1"]


def test_a_callback_keeps_the_number_only_until_it_is_done(tmp_path):
    store = CallStore(tmp_path / "calls.db", privacy=Privacy.for_data_dir(tmp_path, "pseudonym"))
    try:
        write(store, record("c1", 1000.0, answered=False, callback=True))
        callback_id, number = store.db.execute("SELECT id, number FROM callbacks").fetchone()
        assert number == NUMBER  # the operator must be able to dial it
        store.callback_done(callback_id, "Anna", now=2000.0)
        assert store.db.execute("SELECT number, status FROM callbacks").fetchone() == (None, "done")
        with pytest.raises(LookupError, match="no pending callback"):
            store.callback_done(callback_id, "Anna", now=2001.0)
    finally:
        store.close()


@pytest.fixture
def store(tmp_path):
    store = CallStore(tmp_path / "calls.db")
    yield store
    store.close()


def _audio(store: CallStore, name: str) -> str:
    path = store.data_dir / "voicemail" / name
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(b"fLaC")
    return f"voicemail/{name}"


def test_retention_deletes_old_data_of_each_kind_with_its_audio(store, tmp_path):
    now = 100 * DAY
    old_vm, new_vm = _audio(store, "old.flac"), _audio(store, "new.flac")
    write(store, record("old", now - 40 * DAY, voicemail=old_vm))
    store.add_note("old", "Anna", "old note", now=now - 40 * DAY)
    write(store, record("new", now - 5 * DAY, voicemail=new_vm))
    store.record_sms("gsm1", "in", NUMBER, "please call me", at=now - 20 * DAY)
    store.call_started("live", "gsm1", NUMBER, now - 90 * DAY)  # still open: never deleted by age
    audit = AccessStore(tmp_path / "access.db")
    removed = enforce_retention(store, now, {"calls": 30, "voicemail": 3, "sms": 10, "recordings": None},
                                audit=audit)
    assert removed == {"voicemail": 2, "sms": 1, "calls": 1}
    ids = [row[0] for row in store.db.execute("SELECT id FROM calls ORDER BY id")]
    assert ids == ["live", "new"]
    assert store.db.execute("SELECT COUNT(*) FROM call_events WHERE call_id = 'old'").fetchone()[0] == 0
    assert store.db.execute("SELECT COUNT(*) FROM notes").fetchone()[0] == 0
    assert not (tmp_path / old_vm).exists() and not (tmp_path / new_vm).exists()
    assert audit.audit_entries()[0]["action"] == "retention.delete"
    with pytest.raises(ValueError, match="unknown retention kind"):
        enforce_retention(store, now, {"faxes": 3})
    with pytest.raises(ValueError, match="retention for calls"):
        enforce_retention(store, now, {"calls": 0})
    assert store.db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 2


def test_a_caller_can_get_everything_about_them_and_then_have_it_erased(store, tmp_path):
    vm = _audio(store, "c1.flac")
    write(store, record("c1", 1000.0, voicemail=vm))
    store.add_note("c1", "Anna", "wants the form", now=1100.0)
    store.open_ticket("c1", "Send the form", "Anna", now=1200.0)
    store.record_sms("gsm1", "in", NUMBER, "thanks", at=1300.0)
    write(store, record("someone else", 2000.0, caller="+79990000000"))
    audit = AccessStore(tmp_path / "access.db")
    log = CallLog(store.path)

    export = export_caller(log, NUMBER, actor="admin:olga", now=3000.0, audit=audit)
    assert [c["id"] for c in export["calls"]] == ["c1"]
    assert export["calls"][0]["notes"][0]["text"] == "wants the form"
    assert export["sms"][0]["text"] == "thanks" and export["tickets"][0]["title"] == "Send the form"

    removed = erase_caller(store, NUMBER, actor="admin:olga", now=3100.0, audit=audit)
    assert removed["calls"] == 1 and removed["sms"] == 1 and removed["tickets"] == 1
    assert log.search(caller=NUMBER) == [] and log.call("c1") is None
    assert not (tmp_path / vm).exists()
    assert [c["id"] for c in log.recent()] == ["someone else"]
    assert [(e["actor"], e["action"]) for e in audit.audit_entries()] == [
        ("admin:olga", "caller.erase"), ("admin:olga", "caller.export")]


def test_api_tokens_are_kept_only_as_hashes_and_can_be_revoked(tmp_path):
    access = AccessStore(tmp_path / "access.db")
    token = access.create_token("crm", role="operator", now=1.0)
    assert access.verify(token) == {"client": "crm", "role": "operator"}
    access.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    assert token.encode() not in b"".join(p.read_bytes() for p in tmp_path.glob("access.db*"))
    assert access.revoke_tokens("crm", now=2.0) == 1
    assert access.verify(token) is None
    with pytest.raises(LookupError, match="no live token"):
        access.revoke_tokens("crm", now=3.0)
    with pytest.raises(ValueError, match="token role 'god'"):
        access.create_token("crm", role="god", now=4.0)
    assert [t["client"] for t in access.tokens()] == ["crm"]
    access.close()


@pytest.mark.parametrize("mode", ["full", "pseudonym"])
def test_callers_without_digits_do_not_share_one_history(tmp_path, mode):
    store = CallStore(tmp_path / "calls.db", privacy=Privacy.for_data_dir(tmp_path, mode))
    try:
        write(store, record("c1", 1000.0, caller="Anonymous"))
        store.add_note("c1", "Anna", "Threatened to come round", now=1100.0)
        store.open_ticket("c1", "Police report", "Anna", now=1100.0)
        write(store, record("c2", 2000.0, caller="Unknown"))
        write(store, record("c3", 3000.0, caller="Anonymous"))
        with pytest.raises(ValueError, match="needs a phone number"):
            store.upsert_contact("Anonymous", name="Someone", note=None, author="Anna", now=3100.0)
        with pytest.raises(ValueError, match="'Anonymous' has no digits"):
            erase_caller(store, "Anonymous", actor="admin", now=3200.0)
        assert store.db.execute("SELECT COUNT(*) FROM calls").fetchone()[0] == 3
    finally:
        store.close()
    log = CallLog(tmp_path / "calls.db")
    for call_id in ("c2", "c3"):
        history = log.call(call_id, role="operator")["history"]
        assert history["count"] == 0 and history["notes"] == [] and history["open_tickets"] == []
    with pytest.raises(ValueError, match="no digits"):
        log.search(caller="Anonymous")


def test_a_timeline_written_before_the_rule_is_protected_at_the_next_start(tmp_path):
    rec = record("c1", 1000.0)
    rec["events"][0]["detail"] = NUMBER  # ANSWERED carried the full number (issue 15)
    store = CallStore(tmp_path / "calls.db", privacy=Privacy.for_data_dir(tmp_path, "full"))
    write(store, rec)
    store.close()
    store = CallStore(tmp_path / "calls.db", privacy=Privacy.for_data_dir(tmp_path, "pseudonym"))
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    (detail,) = store.db.execute("SELECT detail FROM call_events WHERE event = 'ANSWERED'").fetchone()
    store.close()
    assert detail.startswith("~")


class _SetClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def monotonic(self) -> float:
        return 1000.0

    def wall(self) -> float:
        return self.now

    def synced(self) -> bool:
        return True


def test_the_audit_log_is_pruned_after_its_retention_a_year_unless_configured(tmp_path):
    now = 800 * DAY
    access = AccessStore(tmp_path / "access.db")
    access.audit("anna", "call.view", "old", at=now - 400 * DAY)
    access.audit("anna", "call.view", "last month", at=now - 40 * DAY)
    access.close()
    document = configuration.default_document()
    records = configuration.parse(document).records
    assert records.audit_days == 365
    keeper = RecordKeeper(tmp_path, records, BoxClock(_SetClock(now)))
    keeper.maintain()
    keeper.close()
    access = AccessStore(tmp_path / "access.db")
    assert [e["target"] for e in access.audit_entries() if e["action"] == "call.view"] == ["last month"]
    assert access.audit_entries()[0]["detail"] == "audit=1"  # the pruning itself is audited
    access.close()
    document["retention"]["audit"] = 30
    keeper = RecordKeeper(tmp_path, configuration.parse(document).records, BoxClock(_SetClock(now)))
    keeper.maintain()
    keeper.close()
    access = AccessStore(tmp_path / "access.db")
    assert [e["target"] for e in access.audit_entries() if e["action"] == "call.view"] == []
    access.close()
    document["retention"]["audit"] = 0
    with pytest.raises(configuration.ConfigError, match="retention.audit: must be a positive number"):
        configuration.parse(document)


def test_a_waiting_write_that_can_never_be_written_is_logged_without_the_number(tmp_path, caplog):
    store = CallStore(tmp_path / "calls.db", privacy=Privacy.for_data_dir(tmp_path, "pseudonym"))
    disk = FullDisk(store)
    journaled = JournaledStore(store, Journal(tmp_path / "calls.journal"))
    disk.full = True
    journaled.call_started("c1", "gsm1", NUMBER, 1000.0)
    disk.full = False
    store.call_started = lambda *args: (_ for _ in ()).throw(TypeError("a changed schema"))  # never writable
    assert journaled.flush() and journaled.lost == 1
    store.close()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "call record write call_started (#1) dropped" in logged and "9161234567" not in logged
