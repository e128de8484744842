"""Dumps spaCy 3.8's blank English tokenizer rules and sentencizer punctuation, and DataTrove's
punctuation sets, for trove-core's text module. Usage: spacy_data.py SPACY_EN.json DATATROVE_TEXT.json"""
import json, sys, spacy
nlp = spacy.blank("en")
t = nlp.tokenizer
sent = nlp.add_pipe("sentencizer")
rules = {k: [piece[65] for piece in v] for k, v in sorted(t.rules.items())}
out = {
    "spacy_version": spacy.__version__,
    "prefix": t.prefix_search.__self__.pattern,
    "suffix": t.suffix_search.__self__.pattern,
    "infix": t.infix_finditer.__self__.pattern,
    "url": t.url_match.__self__.pattern,
    "rules": rules,
    "sentence_punct_chars": sorted(sent.punct_chars),
}
json.dump(out, open(sys.argv[1], "w"), ensure_ascii=False, indent=0, sort_keys=True)
from datatrove.utils.text import PUNCTUATION, TERMINAL_PUNCTUATION
out2 = {"punctuation": PUNCTUATION, "terminal_punctuation": "".join(sorted(TERMINAL_PUNCTUATION))}
json.dump(out2, open(sys.argv[2], "w"), ensure_ascii=False, indent=0, sort_keys=True)
