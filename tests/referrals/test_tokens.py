"""Referral tokens: readable aloud, never an NHS number, found only through their HMAC."""

import re

from signpost.referrals import tokens


def test_a_token_is_three_groups_of_four_from_the_unambiguous_alphabet() -> None:
    for _ in range(200):
        token = tokens.new_token()
        assert re.fullmatch(r"[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}(-[23456789ABCDEFGHJKMNPQRSTUVWXYZ]{4}){2}", token)
        assert not set(token) & set("01OIL")


def test_every_group_holds_a_letter_so_no_token_reads_as_an_nhs_number() -> None:
    for _ in range(500):
        token = tokens.new_token()
        assert all(any(c.isalpha() for c in group) for group in token.split("-"))
        assert not re.search(r"\d{10}", token.replace("-", ""))


def test_tokens_do_not_repeat() -> None:
    assert len({tokens.new_token() for _ in range(5000)}) == 5000


def test_a_token_read_out_with_spaces_or_lower_case_is_the_same_token() -> None:
    assert tokens.normalise(" k7qp 3mxa-9rtb ") == "K7QP-3MXA-9RTB"


def test_text_that_cannot_be_a_token_is_refused() -> None:
    for text in ("", "K7QP-3MXA", "K7QP-3MXA-9RTB-AAAA", "K0QP-3MXA-9RTB", "9434765919AB", "K7QP-3MXA-9RT!"):
        assert tokens.normalise(text) is None


def test_the_hmac_depends_on_the_secret_key() -> None:
    token = tokens.new_token()
    assert tokens.token_hmac("one", token) != tokens.token_hmac("two", token)
    assert token not in tokens.token_hmac("one", token)
