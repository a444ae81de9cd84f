"""ATA IDENTIFY DEVICE and DCO data from real drives (libatasmart samples), read into facts."""

from __future__ import annotations

import pytest

from expunge.core.errors import TargetError
from expunge.drives.identify.ata import parse_dco_identify, parse_identify
from tests.support.drive_samples import identify, with_words, word

INTEL = "INTEL_SSDSA2CW120G3--4PC10302"
SAMSUNG = "SAMSUNG_MMCQE28G8MUP--0VA_VAM08L1Q"
WDC = "WDC_WD5000AAKS--00TMA0-12.01C01"
MAXTOR = "Maxtor_96147H8--BAC51KJ0"


def test_intel_ssd_identity_and_a_frozen_security_state() -> None:
    ident = parse_identify(identify(INTEL))
    assert (ident.model, ident.serial, ident.firmware) == (
        "INTEL SSDSA2CW120G3",
        "CVPR109301UZ120LGN",
        "4PC10302",
    )
    assert ident.sectors == 234441648 and ident.lba48 and ident.logical_sector_size == 512
    assert ident.rotation_rate == 1 and ident.trim
    sec = ident.security
    # Word 128 = 012Bh: supported, a user password set, not locked, frozen, enhanced erase.
    assert word(identify(INTEL), 128) == 0x012B
    assert (sec.supported, sec.enabled, sec.locked, sec.frozen) == (True, True, False, True)
    assert sec.enhanced_erase and sec.erase_minutes == 2


def test_wdc_hard_disk_has_hpa_and_dco_feature_sets_and_an_unfrozen_security() -> None:
    ident = parse_identify(identify(WDC))
    assert ident.model == "WDC WD5000AAKS-00TMA0" and ident.serial == "WD-WCAPW0493929"
    assert ident.sectors == 976773168 and ident.rotation_rate is None
    assert ident.hpa_supported and ident.dco_supported
    assert ident.security.supported and not ident.security.frozen
    assert not ident.security.enhanced_erase and ident.security.erase_minutes == 122


def test_old_drive_without_lba48_or_security() -> None:
    ident = parse_identify(identify(MAXTOR))
    assert not ident.lba48 and ident.sectors == 120060864
    assert not ident.security.supported and not ident.dco_supported


def test_none_of_the_real_samples_reports_the_sanitize_feature_set() -> None:
    for name in (INTEL, SAMSUNG, WDC, MAXTOR):
        assert not parse_identify(identify(name)).sanitize.supported, name


def test_word_59_sanitize_bits() -> None:
    # The Samsung sample with word 59 bits 12-15 set, as an ACS-3 drive reports them.
    data = with_words(identify(SAMSUNG), w59=word(identify(SAMSUNG), 59) | 0xF000)
    san = parse_identify(data).sanitize
    assert (san.supported, san.crypto_scramble, san.overwrite, san.block_erase) == (
        True,
        True,
        True,
        True,
    )
    only_crypto = with_words(identify(SAMSUNG), w59=0x3000)
    san = parse_identify(only_crypto).sanitize
    assert san.crypto_scramble and not san.block_erase and not san.overwrite


def test_locked_and_expired_bits() -> None:
    data = with_words(identify(WDC), w128=0x0001 | 0x0002 | 0x0004 | 0x0010)
    sec = parse_identify(data).security
    assert sec.enabled and sec.locked and sec.count_expired and not sec.frozen


def test_extended_erase_time_format() -> None:
    # Word 89 bit 15: the time is bits 14:0 in 2-minute units.
    data = with_words(identify(WDC), w89=0x8000 | 300)
    assert parse_identify(data).security.erase_minutes == 600


def test_4k_logical_sectors() -> None:
    # Word 106 valid with bit 12 set: words 117-118 give the logical sector in words.
    data = with_words(identify(WDC), w106=0x5000, w117=2048, w118=0)
    assert parse_identify(data).logical_sector_size == 4096


def test_a_corrupted_answer_is_refused_not_believed() -> None:
    data = bytearray(identify(INTEL))
    data[54] ^= 0x01  # one bit of the model string
    with pytest.raises(TargetError, match="checksum"):
        parse_identify(bytes(data))


def test_truncated_answer_is_refused() -> None:
    with pytest.raises(TargetError, match="not 512"):
        parse_identify(identify(INTEL)[:508])


def test_dco_identify_reports_the_factory_maximum() -> None:
    # A DCO IDENTIFY answer as ACS-2 lays it out: revision 2, maximum LBA in words 3-6,
    # word 7 with HPA (bit 7) and security (bit 3) still allowed.
    base = bytes(512)
    data = with_words(base, w0=0x0002, w3=0x5DAF, w4=0x3A38, w5=0, w6=0, w7=0x0088)
    dco = parse_dco_identify(data)
    assert dco.revision == 2 and dco.max_lba == 0x3A385DAF
    assert not dco.hpa_restricted and not dco.security_restricted
    restricted = parse_dco_identify(with_words(base, w0=2, w3=1, w7=0x0008))
    assert restricted.hpa_restricted and not restricted.security_restricted
