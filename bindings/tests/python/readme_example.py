import os

from zitadel_passkey import ClientConfig, PasskeyClient, PasskeyError, Transport


async def passkey_link_for_current_user() -> str:
    client = PasskeyClient.with_token(
        ClientConfig(endpoint=os.environ["ZITADEL_URL"], transport=Transport.GRPC),
        os.environ["ZITADEL_TOKEN"],
    )
    try:
        link = await client.add_passkey_link()
    except PasskeyError.OutcomeUnknown:
        raise  # a link may have been created: check before asking for another
    print(f"created {link}, expires in {link.expires_in()}")  # the code shows as ***
    return link.url()  # the full link, code included: give it only to the user
