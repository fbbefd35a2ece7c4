"""`<name>.defs`: the defines as of a journal position, then only the journal after it."""

from omegad.persist import events as ev
from omegad.persist.journal import JournalWriter
from omegad.sessions import defs


def _input(writer: JournalWriter, code: str, ok: bool = True) -> None:
    seq = writer.next_seq
    end = ev.result_event(seq + 1, "x") if ok else ev.error_event(seq + 1, 0, "boom")
    writer.write([ev.input_event(seq, code), end])


def test_the_file_and_the_journal_after_it_give_the_defines(tmp_path):
    journal, saved = tmp_path / "s.jsonl", tmp_path / "s.defs"
    writer = JournalWriter.create(journal, ev.header("s"))
    _input(writer, "(define a 1)")
    _input(writer, "(define (f x) x)")
    defs.save(saved, writer.size, defs.load(saved, journal))
    _input(writer, "(define a 2)")  # a redefinition moves to the end
    _input(writer, "(+ 1 2)")
    _input(writer, "(define b (car '()))", ok=False)
    writer.close()
    assert defs.load(saved, journal) == {"f": "(define (f x) x)", "a": "(define a 2)"}


def test_what_the_file_says_is_taken_as_of_its_position(tmp_path):
    """Proof that the head of the journal is not read again: the file's word stands for it."""
    journal, saved = tmp_path / "s.jsonl", tmp_path / "s.defs"
    writer = JournalWriter.create(journal, ev.header("s"))
    _input(writer, "(define a 1)")
    defs.save(saved, writer.size, {"z": "(define z 0)"})
    _input(writer, "(define c 3)")
    writer.close()
    assert list(defs.load(saved, journal)) == ["z", "c"]


def test_a_bad_or_outdated_file_falls_back_to_the_whole_journal(tmp_path):
    journal, saved = tmp_path / "s.jsonl", tmp_path / "s.defs"
    writer = JournalWriter.create(journal, ev.header("s"))
    _input(writer, "(define a 1)")
    writer.close()
    saved.write_bytes(b"\x93garbage")
    assert list(defs.load(saved, journal)) == ["a"]
    defs.save(saved, journal.stat().st_size + 100, {"z": "(define z 0)"})  # a longer journal's
    assert list(defs.load(saved, journal)) == ["a"]
