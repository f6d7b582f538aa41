"""OpenAPI naming for the house style's nested serializers.

Every API view nests its own ``InputSerializer``; by class name alone they would all become one component
("InputRequest") in the schema. Naming a nested serializer after its qualified name (``StudyVotesApi.InputSerializer``
-> ``StudyVotesApiInput``) keeps each one distinct.
"""
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema


class AutoSchema(SpectacularAutoSchema):
    def get_serializer_name(self, serializer, direction) -> str:
        return type(serializer).__qualname__.replace(".", "").replace("<locals>", "")
