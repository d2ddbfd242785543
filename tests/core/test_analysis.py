"""The analyzer folds what practitioners type onto what the reports say."""

from qa.analysis import Analyzer, family_stems, fold

A = Analyzer()


def test_stems_fold_inflections():
    assert A.stems("fathers") == A.stems("father")
    assert A.stems("assessments") == A.stems("assessment")


def test_british_and_american_spellings_match():
    for british, american in [("behaviour", "behavior"), ("paediatrician", "pediatrician"), ("organisation", "organization"),
                              ("judgement", "judgment"), ("focussed", "focused"), ("recognised", "recognized")]:
        assert A.stems(british) == A.stems(american), (british, american)


def test_abbreviations_match_their_expansions_both_ways():
    assert A.terms("SCR") == A.terms("serious case review")
    assert A.terms("LSCBs") == A.terms("local safeguarding children boards")
    assert set(A.stems("CAMHS")) == set(A.stems("child and adolescent mental health services"))
    assert A.stems("YP") == A.stems("young people")


def test_practitioners_shorthand_reads_as_the_words_the_reports_use():
    assert A.stems("referral to CSC") == A.stems("referral to children's social care")
    assert A.stems("GP to midwife to HV") == A.stems("GP to midwife to health visitor")
    assert A.stems("a girl with SEN") == A.stems("a girl with special educational needs")
    assert A.stems("over 2 yrs, 6 mths") == A.stems("over 2 years, 6 months")
    assert A.stems("what did SWs in the LAs find") == A.stems("what did social workers in the local authorities find")
    assert A.stems("HMCI's view of the YOI") == A.stems("Her Majesty's Chief Inspector's view of the young offender institution")


def test_chat_forms_read_as_the_words_they_stand_for():
    assert A.words("wat did the govt rec, cos i need it b4 the meeting") == A.words(
        "what did the government recommendation, because i need it before the meeting")
    # Greetings, thanks, "vs" and filler nouns are no topic: nothing of them is searched.
    assert A.stems("hi, girls vs boys pls, thanks") == A.stems("girls boys")
    assert A.stems("loads of stuff about dads and that sort of thing") == A.stems("about dads")
    assert A.stems("sources of info") == A.stems("sources of information")


def test_contractions_read_as_the_negation_the_reports_write_with_or_without_apostrophe():
    for typed in ("why didn't they act", "why didnt they act", "why didn’t they act"):
        assert A.stems(typed) == A.stems("why did not they act") == ["not", "act"]
    assert A.stems("there werent any procedures") == A.stems("there were not any procedures")
    assert A.words("I can't find it") == ["i", "can", "not", "find", "it"]
    # Without the apostrophe "cant" and "wont" are other words, and stay as typed.
    assert A.words("a wont of cant") == ["a", "wont", "of", "cant"]


def test_unicode_folding_of_quotes_dashes_and_spaces():
    assert fold("‘professional drift’ – 2009\u00a0report") == "'professional drift' - 2009 report"
    assert A.stems("children’s") == A.stems("children's")


def test_stop_words_dropped_but_number_words_kept_as_figures():
    assert A.stems("what were the six main messages") == A.stems("six main messages")
    assert A.stems("six main messages") == A.stems("6 main messages")
    assert A.stems("under one") == A.stems("under 1")


def test_bigrams_follow_unigrams():
    terms = A.terms("pre-birth assessment")
    assert terms[:3] == ["pre", "birth", "assess"]
    assert "pre birth" in terms and "birth assess" in terms


def test_financial_year_ranges_name_both_years():
    assert A.stems("2009-10") == A.stems("2009/10") == ["2009", "2010"]


def test_short_year_ranges_name_both_years_but_ages_pages_and_dates_stay_numbers():
    assert A.stems("the 09-10 reviews") == A.stems("the 09/10 reviews") == ["2009", "2010", "review"]
    assert A.stems("98/99") == ["1998", "1999"]
    assert A.stems("aged 14-15") == ["age", "14", "15"]
    assert A.stems("15-16 year olds")[:2] == ["15", "16"]
    assert A.stems("pages 12-13")[-2:] == ["12", "13"]
    assert A.stems("on 08/09/2009") == ["08", "09", "2009"]
    assert A.stems("10-12") == ["10", "12"]  # not consecutive: not a year


def test_table_periods_with_short_years_name_the_years():
    # Table 2's rows read "April 08 - March 09 0 40 74 59 173".
    assert A.stems("April 08 - March 09")[1::2] == ["2008", "2009"]
    assert A.stems("April 26 - June 30") == ["april", "26", "june", "30"]  # days, not years


def test_commonness_separates_how_people_talk_from_specific_words():
    assert A.commonness("get") > 0.9
    assert 0.4 < A.commonness("phone") < 0.8
    assert A.commonness("fgm") == A.commonness("leeds") == 0.0


def test_noun_share_tells_a_topic_from_how_people_talk():
    assert A.noun_share("inquiry") > 0.9 and A.noun_share("model") > 0.9
    assert A.noun_share("actually") == A.noun_share("dragged") == A.noun_share("kept") == 0.0
    assert 0.1 < A.noun_share("sleep") < 0.5  # mostly a verb
    assert A.noun_share("laming") == A.noun_share("lado") == 1.0  # names and acronyms are topics
    assert A.noun_share("organised") == A.noun_share("organized")


def test_a_misspelt_english_word_is_read_as_the_word_it_misspells():
    assert A.everyday_correction("recomend") == "recommend"
    assert A.everyday_correction("abstarct") == "abstract"
    # Rare words and names are real words, short ones too often chat forms: left alone.
    assert A.everyday_correction("laming") is None and A.everyday_correction("quorate") is None
    assert A.everyday_correction("pls") is None and A.everyday_correction("climbie") is None


def test_word_families_join_what_the_stemmer_leaves_apart():
    for verb, noun in [("notified", "notification"), ("decided", "decision"), ("referred", "referral"),
                       ("placed", "placement"), ("failed", "failure"), ("analysed", "analysis")]:
        (v,), (n,) = A.stems(verb), A.stems(noun)
        assert v != n and n in family_stems(v) and v in family_stems(n), (verb, noun)
    # Words that only look alike are no family: "police" is not "policy", "care" is not "career".
    assert A.stems("policy")[0] not in family_stems(A.stems("police")[0])
    assert A.stems("career")[0] not in family_stems(A.stems("care")[0])
