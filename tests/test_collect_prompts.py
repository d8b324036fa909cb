"""The English filter of bench/collect_prompts.py: a collected prompt must be English to be judged."""

from __future__ import annotations

import sys

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))

from collect_prompts import is_english_prompt  # noqa: E402


def test_italian_typed_without_accents_is_dropped():
    # Paraphrased, in the style that slipped through: short Italian with English stopwords such as "a", "in".
    assert not is_english_prompt("puoi sistemare il file di config e fare in modo che la pagina funziona anche su mobile")
    assert not is_english_prompt("voglio che tutti i test siano verdi prima del commit, grazie")


def test_spanish_and_german_are_dropped():
    assert not is_english_prompt("quiero que el boton de la pagina haga un request para guardar los datos")
    assert not is_english_prompt("bitte mach das Formular responsive und teste es auf dem Handy, ich bin nicht sicher")


def test_english_with_a_foreign_word_or_code_is_kept():
    assert is_english_prompt("Fix the date parsing in parse_invoice so that 'del' entries are skipped.")
    assert is_english_prompt("rename the `che` helper to `check_entry` and update the tests in tests/test_che.py")
    assert is_english_prompt("Show the error:\n    del self.cache[key]\n    KeyError: 'das'\nwhen I open the page")
