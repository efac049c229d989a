def test_account_read_returns_the_key_owner(api, account):
    response = api.get("/api/v1/account")
    assert response.status_code == 200
    assert response.json()["id"] == str(account.pk)


def test_bad_uuid_is_404_in_error_shape(api):
    response = api.get("/api/v1/users/123")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
