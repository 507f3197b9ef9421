"""The generated scenario-format reference must match the schema it is generated from."""

from pathlib import Path

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
