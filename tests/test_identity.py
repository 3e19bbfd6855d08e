"""Node keys on disk and user keys derived from callsign + passphrase (DESIGN §3)."""

from __future__ import annotations

import stat
from pathlib import Path

import pytest
from nacl.signing import SigningKey

from meshchat import identity
from meshchat.errors import IdentityError


def test_node_key_is_created_0600_and_reused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data" / "nested"
    key = identity.load_or_create_node_key(data_dir)
    path = data_dir / identity.NODE_KEY_FILE
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert path.read_bytes() == bytes(key)
    assert len(bytes(key)) == identity.SEED_BYTES
    again = identity.load_or_create_node_key(data_dir)
    assert bytes(again) == bytes(key)
    assert [p.name for p in data_dir.iterdir()] == [identity.NODE_KEY_FILE]  # no .tmp left


def test_separate_data_dirs_get_different_keys(tmp_path: Path) -> None:
    a = identity.load_or_create_node_key(tmp_path / "a")
    b = identity.load_or_create_node_key(tmp_path / "b")
    assert bytes(a) != bytes(b)


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_wrong_size_key_file_is_an_identity_error(tmp_path: Path, size: int) -> None:
    (tmp_path / identity.NODE_KEY_FILE).write_bytes(b"\x01" * size)
    with pytest.raises(IdentityError, match=f"{size} bytes"):
        identity.load_or_create_node_key(tmp_path)


def test_unreadable_key_path_is_an_identity_error(tmp_path: Path) -> None:
    (tmp_path / identity.NODE_KEY_FILE).mkdir()
    with pytest.raises(IdentityError, match="cannot read node key"):
        identity.load_or_create_node_key(tmp_path)


def test_uncreatable_data_dir_is_an_identity_error(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(IdentityError, match=r"cannot (read|create) node key"):
        identity.load_or_create_node_key(blocker / "data")


@pytest.fixture(scope="module")
def w1aw_key() -> SigningKey:
    """The derived key of W1AW / "correct horse" (Argon2id is slow: derive it once)."""
    return identity.derive_user_key("W1AW", "correct horse")


def test_derived_key_is_deterministic_and_normalised(w1aw_key: SigningKey) -> None:
    assert bytes(identity.derive_user_key(" w1aw ", "correct horse")) == bytes(w1aw_key)


def test_derived_key_depends_on_callsign_and_passphrase(w1aw_key: SigningKey) -> None:
    other_call = identity.derive_user_key("K1ABC", "correct horse")
    other_pass = identity.derive_user_key("W1AW", "correct horse!")
    assert len({bytes(w1aw_key), bytes(other_call), bytes(other_pass)}) == 3


def test_salt_is_blake2b_16_of_the_callsign() -> None:
    import hashlib

    assert identity.callsign_salt("W1AW") == hashlib.blake2b(b"W1AW", digest_size=16).digest()
    assert identity.callsign_salt("W1AW") != identity.callsign_salt("K1ABC")


@pytest.mark.parametrize(("call", "passphrase"), [("W1AW", ""), ("bad call", "x"), ("", "x")])
def test_derive_rejects_bad_input_before_hashing(call: str, passphrase: str) -> None:
    with pytest.raises(IdentityError):
        identity.derive_user_key(call, passphrase)


def test_signer_public_hex(w1aw_key: SigningKey) -> None:
    signer = identity.Signer("W1AW", w1aw_key, via_node=False)
    assert signer.public_hex == bytes(w1aw_key.verify_key).hex()
    assert len(signer.public_hex) == 64
