"""Keys in the data dir: the watermark key (and, with `soundstage keys init`, the C2PA
signing chain). Files are created with 0600 permissions and never leave the data dir.

The watermark key is 32 random bytes in `DATA_DIR/keys/watermark.key`, made on first use, so
every sampler and detector of one installation shares it. Detection needs the same key:
text or audio made on another installation reads as unmarked.
"""

from __future__ import annotations

import os
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from soundstage.errors import SoundstageError
from soundstage.settings import Settings

__all__ = [
    "CertInfo",
    "ProvenanceKeyError",
    "SigningKeys",
    "describe",
    "init_chain",
    "install",
    "keys_dir",
    "load_keys",
    "watermark_key",
]

WATERMARK_FILE = "watermark.key"


class ProvenanceKeyError(SoundstageError):
    """A key or certificate that is missing, unreadable or unusable."""


def keys_dir(settings: Settings) -> Path:
    return settings.data_dir / "keys"


def write_secret(path: Path, data: bytes) -> None:
    """Write `data` to `path` readable by the owner only (0600), atomically."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(path.name + f".{secrets.token_hex(4)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def watermark_key(settings: Settings) -> bytes:
    """This installation's watermark key (made on first use)."""
    path = keys_dir(settings) / WATERMARK_FILE
    if not path.exists():
        try:
            write_secret(path, secrets.token_bytes(32))
        except FileExistsError:
            pass
        except OSError as exc:
            raise ProvenanceKeyError(
                f"cannot create the watermark key {path}: {exc.strerror}"
            ) from None
    try:
        key = path.read_bytes()
    except OSError as exc:
        raise ProvenanceKeyError(f"cannot read the watermark key {path}: {exc.strerror}") from None
    if len(key) != 32:
        raise ProvenanceKeyError(f"{path} is not a watermark key (32 bytes, got {len(key)})")
    return key


# -- the C2PA signing chain ------------------------------------------------------------------

ROOT_FILE, CHAIN_FILE, KEY_FILE = "root.pem", "chain.pem", "signing.key"
ANCHORS_FILE = "trust-anchors.pem"


@dataclass(frozen=True)
class SigningKeys:
    """What signing needs: the leaf and intermediates (PEM, leaf first, no root), the leaf's
    private key (PKCS#8 PEM), and the roots a verifier trusts (PEM, one or more)."""

    chain_pem: bytes
    key_pem: bytes
    anchors_pem: bytes
    where: Path


@dataclass(frozen=True)
class CertInfo:
    role: str  # "root", "intermediate", "leaf"
    subject: str
    sha256: str
    not_before: datetime
    not_after: datetime


def _name(common_name: str, org: str) -> Any:
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, org),
        ]
    )


def _certificate(
    subject: Any, issuer: Any, public_key: Any, signing_key: Any, days: int, ca: int | None
) -> Any:
    """One X.509 v3 certificate: a CA (`ca` = path length, -1 for none) or a leaf (None)
    with the profile c2pa-rs accepts (KeyUsage digitalSignature, EKU emailProtection)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import ExtendedKeyUsageOID

    now = datetime.now(UTC) - timedelta(minutes=5)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer)
        .public_key(public_key)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + timedelta(days=days))
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public_key), critical=False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(signing_key.public_key()),
            critical=False,
        )
    )
    is_ca = ca is not None
    builder = builder.add_extension(
        x509.BasicConstraints(ca=is_ca, path_length=ca if ca is not None and ca >= 0 else None),
        critical=True,
    ).add_extension(
        x509.KeyUsage(
            digital_signature=True,
            content_commitment=False,
            key_encipherment=False,
            data_encipherment=False,
            key_agreement=False,
            key_cert_sign=is_ca,
            crl_sign=is_ca,
            encipher_only=False,
            decipher_only=False,
        ),
        critical=True,
    )
    if not is_ca:
        builder = builder.add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
    return builder.sign(signing_key, hashes.SHA256())


def init_chain(settings: Settings, org: str = "soundstage", force: bool = False) -> SigningKeys:
    """A private root → intermediate → leaf chain (P-256) in the data dir. The CA keys are
    not kept: a new leaf means a new chain (`keys init --force`); earlier roots stay in the
    trust anchors, so what they signed still verifies."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    folder = keys_dir(settings)
    if (folder / KEY_FILE).exists() and not force:
        raise ProvenanceKeyError(
            f"signing keys already exist in {folder}", hint="keys init --force makes a new chain"
        )
    root_key, mid_key, leaf_key = (ec.generate_private_key(ec.SECP256R1()) for _ in range(3))
    root_name = _name(f"{org} content credentials root", org)
    mid_name = _name(f"{org} content credentials intermediate", org)
    leaf_name = _name(f"{org} content signer", org)
    root = _certificate(root_name, root_name, root_key.public_key(), root_key, 3650, -1)
    mid = _certificate(mid_name, root_name, mid_key.public_key(), root_key, 1825, 0)
    leaf = _certificate(leaf_name, mid_name, leaf_key.public_key(), mid_key, 365, None)
    pem = serialization.Encoding.PEM
    key_pem = leaf_key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    root_pem = root.public_bytes(pem)
    install(settings, leaf.public_bytes(pem) + mid.public_bytes(pem), key_pem, root_pem)
    return load_keys(settings)


def install(settings: Settings, chain_pem: bytes, key_pem: bytes, root_pem: bytes) -> None:
    """Check and store a chain, its key and its root (an organisation's own, or ours)."""
    check_chain(chain_pem, key_pem, root_pem, "the chain")
    folder = keys_dir(settings)
    anchors = folder / ANCHORS_FILE
    known = anchors.read_bytes() if anchors.exists() else b""
    write_secret(folder / KEY_FILE, key_pem)
    write_secret(folder / CHAIN_FILE, chain_pem)
    write_secret(folder / ROOT_FILE, root_pem)
    if root_pem.strip() not in known:
        write_secret(anchors, known + root_pem)
    for name in (CHAIN_FILE, ROOT_FILE, ANCHORS_FILE):  # public, but kept private anyway
        (folder / name).chmod(0o600)


def check_chain(chain_pem: bytes, key_pem: bytes, root_pem: bytes, what: str) -> list[Any]:
    """The chain's certificates, after checking what c2pa-rs would refuse with no reason:
    a leaf without EKU emailProtection or KeyUsage digitalSignature, an expired or
    self-signed leaf, a key that is not the leaf's."""
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization
    from cryptography.x509.oid import ExtendedKeyUsageOID

    try:
        certs = x509.load_pem_x509_certificates(chain_pem)
        x509.load_pem_x509_certificates(root_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
    except ValueError as exc:
        raise ProvenanceKeyError(f"{what}: not PEM certificates and key ({exc})") from None
    leaf = certs[0]
    now = datetime.now(UTC)
    if leaf.not_valid_after_utc < now:
        raise ProvenanceKeyError(
            f"{what}: the signing certificate expired on {leaf.not_valid_after_utc:%Y-%m-%d}",
            hint="keys init --force",
        )
    if leaf.issuer == leaf.subject:
        raise ProvenanceKeyError(
            f"{what}: a self-signed certificate cannot sign C2PA manifests",
            hint="use a root → (intermediate →) leaf chain",
        )
    try:
        usages = list(leaf.extensions.get_extension_for_class(x509.ExtendedKeyUsage).value)
    except x509.ExtensionNotFound:
        usages = []
    if ExtendedKeyUsageOID.EMAIL_PROTECTION not in usages:
        raise ProvenanceKeyError(
            f"{what}: the signing certificate lacks EKU emailProtection, "
            "which C2PA validators require"
        )
    public = key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    leaf_public = leaf.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    if public != leaf_public:
        raise ProvenanceKeyError(f"{what}: the private key does not match the signing certificate")
    return list(certs)


def load_keys(settings: Settings) -> SigningKeys:
    folder = keys_dir(settings)
    paths = [folder / n for n in (CHAIN_FILE, KEY_FILE, ANCHORS_FILE)]
    missing = [p.name for p in paths if not p.exists()]
    if missing:
        raise ProvenanceKeyError(
            f"no signing keys in {folder} (missing {', '.join(missing)})",
            hint="soundstage keys init",
        )
    try:
        chain, key, anchors = (p.read_bytes() for p in paths)
    except OSError as exc:
        raise ProvenanceKeyError(
            f"cannot read the signing keys in {folder}: {exc.strerror}"
        ) from None
    check_chain(chain, key, (folder / ROOT_FILE).read_bytes(), str(folder / CHAIN_FILE))
    return SigningKeys(chain, key, anchors, folder)


def describe(settings: Settings) -> list[CertInfo]:
    """Fingerprints and validity of the chain and its root (for `keys show`)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes

    keys = load_keys(settings)
    certs = x509.load_pem_x509_certificates(keys.chain_pem)
    root = x509.load_pem_x509_certificates((keys.where / ROOT_FILE).read_bytes())
    roles = ["leaf"] + ["intermediate"] * (len(certs) - 1) + ["root"]
    return [
        CertInfo(
            role,
            c.subject.rfc4514_string(),
            c.fingerprint(hashes.SHA256()).hex(":"),
            c.not_valid_before_utc,
            c.not_valid_after_utc,
        )
        for role, c in zip(roles, [*certs, *root], strict=True)
    ]
