"""The generated scenario-format reference must match the schema it is generated from."""

from pathlib import Path

from revsim import kpi_registry
from revsim.scenario.reference import markdown

DOC = Path(__file__).parent.parent / "docs" / "scenario-format.md"


def test_scenario_reference_is_up_to_date():
    assert DOC.read_text(encoding="utf-8") == markdown() + "\n", (
        "docs/scenario-format.md is stale: run `python -m revsim.scenario.reference > "
        "docs/scenario-format.md`"
    )


def test_reference_lists_every_field_of_every_section():
    text = DOC.read_text(encoding="utf-8")
    from revsim.scenario import schema as S
    from revsim.scenario import schema_money as M

    for model in (S.Meta, S.SourceSpec, S.PoolSpec, S.StageSpec, M.ContractSpec, M.PaymentSpec,
                  M.DunningSpec, M.BillingSpec):
        for field in model.model_fields:
            assert f"| `{field}` |" in text, f"{model.__name__}.{field} missing from the reference"


KPI_DOC = Path(__file__).parent.parent / "docs" / "kpis.md"


def test_kpi_reference_is_generated_from_the_registry():
    assert KPI_DOC.read_text(encoding="utf-8") == kpi_registry.markdown_table(), (
        "docs/kpis.md is stale: run `python -c \"import sys, revsim.kpi_registry as r; "
        "sys.stdout.write(r.markdown_table())\" > docs/kpis.md`"
    )


def test_kpi_reference_lists_every_kpi_once():
    text = KPI_DOC.read_text(encoding="utf-8")
    for k in kpi_registry.KPIS:
        assert text.count(f"| `{k.id}` |") == 1, k.id
