"""A live-migrated guest names the destination's files, never the source's
(issue 11, bug 2): the pure XML rewriting and the checks around it."""

import types

import pytest

from vmctl.virt import driver as virt_driver
from vmctl.virt.libvirt import live_job as lm
from vmctl.virt.libvirt import live_migration as lvm
from vmctl.virt.libvirt import paths

UUID = "6f1c1d7e-5b7a-4c59-9d0e-0d7c3f1a2b3c"
SRC = paths.host_paths("/w/hosts/h1/instances", "/w/hosts/h1/_base", UUID)
DST = paths.host_paths("/w/hosts/h2/instances", "/w/hosts/h2/_base", UUID)

XML = f"""<domain type='qemu'><name>instance-{UUID}</name><uuid>{UUID}</uuid>
<os><kernel>/w/hosts/h1/_base/k</kernel><initrd>/w/hosts/h1/_base/r</initrd></os>
<devices><emulator>/usr/bin/qemu-system-x86_64</emulator>
<disk type='file' device='disk'><source file='/w/hosts/h1/instances/{UUID}/disk'/>
<backingStore type='file'><source file='/w/hosts/h1/_base/img'/></backingStore></disk>
<serial type='file'><source path='/w/hosts/h1/instances/{UUID}/console.log' append='on'/>
<log file='/w/hosts/h1/instances/{UUID}/console.log'/></serial>
<disk type='file'><source file='/w/hosts/h1/instances2/x'/></disk>
<channel type='unix'><source mode='bind' path='/var/lib/libvirt/qemu/ch.sock'/></channel>
</devices></domain>"""


def test_every_host_path_moves_to_the_destination():
    out = paths.rewrite_paths(XML, paths.destination_mapping(SRC, DST))
    assert "/hosts/h1/instances/" not in out and "/hosts/h1/_base" not in out
    assert f"file=\"/w/hosts/h2/instances/{UUID}/disk\"" in out
    assert f"path=\"/w/hosts/h2/instances/{UUID}/console.log\"" in out
    assert f"<log file=\"/w/hosts/h2/instances/{UUID}/console.log\"" in out
    assert "<kernel>/w/hosts/h2/_base/k</kernel>" in out
    assert "<initrd>/w/hosts/h2/_base/r</initrd>" in out
    assert "file=\"/w/hosts/h2/_base/img\"" in out
    assert "/w/hosts/h1/instances2/x" in out        # whole path components only
    assert "/var/lib/libvirt/qemu/ch.sock" in out
    assert "<emulator>/usr/bin/qemu-system-x86_64</emulator>" in out
    assert paths.foreign_paths(out, (DST["instance_dir"], DST["image_cache_path"]),
                               exists=lambda p: True) == []


def test_nothing_to_move_returns_the_same_string():
    assert paths.rewrite_paths(XML, paths.destination_mapping(SRC, SRC)) is XML
    assert paths.rewrite_paths(XML, {"/nowhere": "/b"}) is XML
    assert paths.rewrite_paths(XML, {"/w/hosts/h1/_base/": "/w/hosts/h2/_base"}) != XML


def test_foreign_paths_are_the_other_hosts_folders():
    own = ("/w/hosts/h2/instances", "/w/hosts/h2/_base")
    found = paths.foreign_paths(XML, own, exists=lambda p: True)
    assert found == [f"/w/hosts/h1/instances/{UUID}/disk",
                     f"/w/hosts/h1/instances/{UUID}/console.log",
                     f"/w/hosts/h1/instances/{UUID}/console.log"]
    gone = paths.foreign_paths(XML, own, exists=lambda p: "/h1/" not in p)
    assert "/w/hosts/h1/_base/k" in gone and "/w/hosts/h1/instances2/x" in gone
    assert "/var/lib/libvirt/qemu/ch.sock" not in gone     # libvirt's own socket


class Guest:
    """Both definitions of a domain, as guest.xml(flags) returns them."""

    def __init__(self, live, inactive=None):
        self.live, self.inactive = live, inactive
        self.domain = types.SimpleNamespace(isPersistent=lambda: inactive is not None)

    def xml(self, flags=0):
        return self.inactive if flags & lm.VIR_DOMAIN_XML_INACTIVE else self.live


def test_both_definitions_go_with_the_destinations_paths():
    inactive = XML.replace("append='on'", "")
    dest_xml, persist_xml = lvm.destination_xmls(Guest(XML, inactive),
                                                 paths.destination_mapping(SRC, DST))
    for xml in (dest_xml, persist_xml):
        assert "/hosts/h1/instances/" not in xml and "/hosts/h1/_base/" not in xml
    assert "append" in dest_xml and "append" not in persist_xml


def test_same_paths_send_no_xml_and_a_transient_domain_no_persistent_one():
    assert lvm.destination_xmls(Guest(XML, XML), paths.destination_mapping(SRC, SRC)) == (
        None, None)
    dest_xml, persist_xml = lvm.destination_xmls(Guest(XML), paths.destination_mapping(
        SRC, DST))
    assert dest_xml and persist_xml is None


def test_the_destinations_paths_come_from_the_destination():
    found = lvm.destination_paths({"instances_path": "/d/i", "image_cache_path": "/d/c"},
                                  UUID)
    assert found == {"instance_dir": f"/d/i/{UUID}", "image_cache_path": "/d/c"}
    with pytest.raises(virt_driver.VirtError, match="did not report its instances_path"):
        lvm.destination_paths({"host": "h2", "image_cache_path": "/d/c"}, UUID)


def test_a_definition_naming_another_hosts_folder_is_relocated_before_a_revert():
    here = DST["instance_dir"]
    out = paths.relocate_instance_paths(XML, UUID, here)
    assert f"file=\"{here}/disk\"" in out and f"path=\"{here}/console.log\"" in out
    assert "/w/hosts/h1/instances/" + UUID not in out
    assert "<kernel>/w/hosts/h1/_base/k</kernel>" in out      # not an instance folder
    assert paths.relocate_instance_paths(out, UUID, here) is out
    kept = XML.replace(f"/{UUID}/", f"/{UUID}_resize/")
    assert paths.relocate_instance_paths(kept, UUID, here) is kept


def _migrator(tmp_path, defined):
    lconf = types.SimpleNamespace(instances_path="/w/hosts/h2/instances",
                                  image_cache_path="/w/hosts/h2/_base")
    host = types.SimpleNamespace(define=defined.append)
    files = types.SimpleNamespace(nodename="h2")
    return lvm.LiveMigrator(types.SimpleNamespace(libvirt=lconf), host,
                            types.SimpleNamespace(), images=None, files=files)


def test_an_arrived_guest_with_a_stale_persistent_definition_is_redefined(tmp_path):
    source = XML.replace("<disk type='file'><source file='/w/hosts/h1/instances2/x'/></disk>",
                         "")
    live = paths.rewrite_paths(source, paths.destination_mapping(SRC, DST))
    defined = []
    _migrator(tmp_path, defined)._check_own_paths(Guest(live, source), UUID)
    assert defined == [live]
    defined.clear()
    _migrator(tmp_path, defined)._check_own_paths(Guest(live, live), UUID)
    assert defined == []
