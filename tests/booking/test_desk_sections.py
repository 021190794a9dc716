from booking.desk.sections import DeskPage


def test_a_page_includes_its_sections_in_the_order_added_and_merges_their_contexts():
    page: DeskPage[[int]] = DeskPage()
    page.add("first.html", lambda number: {"first": number})
    page.add("second.html", lambda number: {"second": number + 1})

    assert page.context(1) == {
        "desk_sections": ["first.html", "second.html"],
        "first": 1,
        "second": 2,
    }


def test_adding_a_template_again_replaces_it_rather_than_showing_it_twice():
    page: DeskPage[[]] = DeskPage()
    page.add("section.html", lambda: {"version": 1})
    page.add("section.html", lambda: {"version": 2})

    assert page.context() == {"desk_sections": ["section.html"], "version": 2}
