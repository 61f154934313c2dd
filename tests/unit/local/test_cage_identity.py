"""Cage uids, addresses and the template catalogue, without starting a cage."""

from __future__ import annotations

from pathlib import Path

import pytest

from caged_platform.runtime import identity, network, templates
from caged_platform.runtime.api import CageError


@pytest.fixture
def claims_root(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Claims and sandbox roots under a private folder, as a root server keeps them."""
    monkeypatch.setattr(identity, "STATE_ROOT", tmp_path / "state")
    monkeypatch.setattr(identity, "switches_uid", lambda: True)
    return tmp_path


def _sandbox(root: Path, name: str) -> Path:
    folder = root / "sandboxes" / name
    folder.mkdir(parents=True)
    return folder


def test_each_sandbox_claims_its_own_unprivileged_uid_and_keeps_it(claims_root: Path) -> None:
    first, second = _sandbox(claims_root, "a"), _sandbox(claims_root, "b")
    uid_a, uid_b = identity.cage_uid(first), identity.cage_uid(second)
    assert uid_a != uid_b
    for uid in (uid_a, uid_b):
        assert identity.CAGE_UID_BASE <= uid < identity.CAGE_UID_BASE + identity.CAGE_UID_SPAN
    assert identity.cage_uid(first) == uid_a  # a restart keeps it


def test_a_released_or_orphaned_claim_is_free_again(
    claims_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(identity.hashlib, "sha256", lambda _b: _Fixed())  # one probe order
    first = _sandbox(claims_root, "a")
    uid = identity.cage_uid(first)
    identity.release_uid(first)
    assert not (claims_root / "state" / "uids" / str(uid)).exists()
    second = _sandbox(claims_root, "b")
    assert identity.cage_uid(second) == uid
    # b's folder vanishes without a destroy (its data dir was deleted): the claim is stale.
    (second / identity.UID_FILE).unlink()
    second.rmdir()
    assert identity.cage_uid(_sandbox(claims_root, "c")) == uid


def test_a_live_claim_of_another_sandbox_is_never_reused(
    claims_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first, second = _sandbox(claims_root, "a"), _sandbox(claims_root, "b")
    # Force both onto the same first probe: the second must move on.
    monkeypatch.setattr(identity.hashlib, "sha256", lambda _b: _Fixed())
    uid_a, uid_b = identity.cage_uid(first), identity.cage_uid(second)
    assert uid_a == identity.CAGE_UID_BASE and uid_b == identity.CAGE_UID_BASE + 1


class _Fixed:
    def hexdigest(self) -> str:
        return "0" * 64


def test_addresses_differ_per_cage_and_stay_in_their_subnet() -> None:
    one, two = network.address_for(1_000_001), network.address_for(1_000_002)
    assert one.cidr != two.cidr
    assert one.ip.endswith(".100") and one.dns.endswith(".3")
    assert one.ip.rsplit(".", 1)[0] == one.cidr.rsplit(".", 1)[0]
    assert one.cidr.startswith("10.")


def test_templates_offered_and_refused_say_so() -> None:
    assert templates.lookup("node-22").node == "22"
    with pytest.raises(CageError, match=r"Python 3\.12.*offers: minimal, python-311"):
        templates.lookup("python-312")
    with pytest.raises(CageError, match="unknown template 'win95'"):
        templates.lookup("win95")
    names = {entry.name: entry.available for entry in templates.catalogue()}
    assert names["python-311"] and not names["desktop"] and not names["go-122"]


def test_an_image_is_named_by_its_recipe() -> None:
    node = templates.OFFERED["node-22"]
    changed = templates.Template(node.name, node.summary, node=node.node, packages=("jq",))
    assert node.key.startswith("node-22-") and changed.key != node.key
    assert node.key == templates.Template(node.name, "another summary", node="22").key
