import datasets

from tonecls.cli import main


def test_tonecls_label(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("body,who,when,doc\n"
                   "\"We strongly condemn the attack and regret the loss of life.\",NOR,2020-01-02,a\n"
                   "\"They will pay a heavy price for this aggression.\",NOR,2021-03-04,b\n"
                   "\"We welcome the agreement and thank our partners for their work.\",NOR,2022-05-06,c\n", encoding="utf-8")
    out = tmp_path / "out"
    rc = main(["label", str(src), "-o", str(out), "--text-column", "body", "--actor-column", "who",
               "--date-column", "when", "--id-column", "doc", "--aggregator", "majority", "--no-marker", "abstain"])
    assert rc == 0
    dd = datasets.load_from_disk(str(out))
    levels = {r["text"]: r["level"] for split in dd.values() if len(split) for r in split}
    assert levels["They will pay a heavy price for this aggression."] == 4
    assert levels["We strongly condemn the attack and regret the loss of life."] == 2


def test_tonecls_label_reports_bad_input(tmp_path, capsys):
    src = tmp_path / "in.csv"
    src.write_text("body\nWe regret it.\n", encoding="utf-8")
    assert main(["label", str(src), "-o", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert "column 'text'" in err and "--text-column" in err
