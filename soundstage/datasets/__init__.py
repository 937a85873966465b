"""The data and model registry: what soundstage trains on or ships, under which licence.

One TOML file per dataset or pretrained model in `soundstage/datasets/registry/` (installed as
package data): where it came from (repository, commit or version), its licence (an SPDX id, a
`LicenseRef-…` for terms SPDX does not list, or `unknown`), how many rows, what the project uses
it for, which of our models were trained on it, what the licence permits (`[permissions]`) and its
opt-out status. Model cards link to the entries (`soundstage data show ID`).

Opt-outs are recorded per installation in `DATA_DIR/datasets/optouts.json` (who, when, why;
`soundstage data optout ID --reason TEXT`), and an entry can carry `optout.status = "opted-out"`,
which then holds for every installation.

**The training rule** (`check_training_use`), for a purpose:

- `research`: weights that stay on this machine for experiments and evaluation, never distributed
  or used commercially. Allowed when the source is not opted out, its licence is known, and the
  licence permits training at all (`permissions.training`). Non-commercial licences (MovieLens,
  Essen) and copyleft/share-alike licences (GPL, CC BY-SA) are allowed here: nothing derived from
  them leaves the machine.
- `ship`: weights that ship with soundstage (Apache-2.0, so anyone may use them commercially).
  Everything `research` needs, and also a licence that permits commercial use
  (`permissions.commercial`) and is not share-alike/copyleft (`permissions.share_alike`), whose
  terms would have to travel with the weights. Attribution licences (CC BY, MIT) are allowed, and
  the model card names the source.

An unknown licence is never allowed, for either purpose. The project's own trainers
(`soundstage.lm`, `soundstage.music`, `soundstage.moderate`) produce the weights in
`soundstage/models/`, so they check `ship`; `soundstage recommend train` keeps its models in the
data directory and checks `research` for a path that is a registered dataset (a MovieLens
folder): serving such a model commercially needs GroupLens's permission, which no code can check.
"""

from __future__ import annotations

from soundstage.datasets.optouts import OptOut, read_optouts, record_optout, withdraw_optout
from soundstage.datasets.policy import (
    PURPOSES,
    Purpose,
    TrainingRefused,
    Verdict,
    check_path_use,
    check_sources,
    check_training_use,
    verdict,
)
from soundstage.datasets.registry import (
    DatasetError,
    Entry,
    Permissions,
    RegistryError,
    UnknownDataset,
    cards_citing,
    dataset_for_path,
    get_entry,
    load_registry,
)

__all__ = [
    "PURPOSES",
    "DatasetError",
    "Entry",
    "OptOut",
    "Permissions",
    "Purpose",
    "RegistryError",
    "TrainingRefused",
    "UnknownDataset",
    "Verdict",
    "cards_citing",
    "check_path_use",
    "check_sources",
    "check_training_use",
    "dataset_for_path",
    "get_entry",
    "load_registry",
    "read_optouts",
    "record_optout",
    "verdict",
    "withdraw_optout",
]
