from django.core.paginator import Paginator
from rest_framework.exceptions import ValidationError
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request


class PortalPagination(PageNumberPagination):
    """Page-numbered lists: 50 by default, `page_size` up to 200."""

    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200

    def get_page_number(self, request: Request, paginator: Paginator) -> int | str:
        """A page number that is not a whole number is a bad request (400), not a missing page (404)."""
        page_number = super().get_page_number(request, paginator)
        if page_number in self.last_page_strings:
            return page_number
        if not (isinstance(page_number, int) or (page_number.isascii() and page_number.isdigit())):
            raise ValidationError({self.page_query_param: ["A page number is a whole number from 1, or “last”."]})
        return page_number
