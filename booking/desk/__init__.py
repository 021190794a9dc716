"""The reception desk, /desk/…: its pages (calendar_views, appointments, book, records,
given_details, schedules, waitlist, feed_link), their forms, the calendar grid they draw,
the sections other apps add to its pages, and its URLs."""
