"""The staff login page: Django's, landing each role where it works (booking.roles.home_for)
unless a safe `next` asks for another page (Django's own check decides what is safe)."""

from django.contrib.auth.views import LoginView

from booking.roles import home_for


class RoleHomeLoginView(LoginView):
    def get_default_redirect_url(self) -> str:
        # Called after the form logged the user in, so request.user is the new user.
        return home_for(self.request.user)
