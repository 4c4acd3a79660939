//! The value model on a real PostgreSQL: each type's canonical form, the edge cases, and
//! the same values from BSON and from PostgreSQL comparing equal.

use cutover::diff;
use cutover_declared::value::{bson::to_canonical, pg::row_to_canonical};
use cutover_servers::postgres::PostgresServer;
use mongodb::bson::{spec::BinarySubtype, Binary, Bson, Decimal128};
use serde_json::{json, Value};
use sqlx::Connection;

async fn select(sql: &str) -> Value {
    let server = PostgresServer::start()
        .await
        .expect("a PostgreSQL server starts");
    let db = server.fresh_database().await.unwrap();
    let mut conn = sqlx::PgConnection::connect_with(&db.options).await.unwrap();
    let row = sqlx::query(sql).fetch_one(&mut conn).await.unwrap();
    row_to_canonical(&row).unwrap()
}

#[tokio::test]
async fn every_type_maps_to_its_canonical_form() {
    let row = select(
        r#"SELECT -0.0::float8 AS neg_zero, 'NaN'::float8 AS nan, 'Infinity'::float8 AS inf, '-Infinity'::float4 AS ninf,
           9223372036854775807::int8 AS max, (-9223372036854775807 - 1)::int8 AS min, 7::int2 AS small,
           12345678901234567890123456789.123456789::numeric AS wide, 'NaN'::numeric AS nnan, 0.000::numeric AS zero, -1.50::numeric AS neg,
           '1969-07-20 20:17:40.123456+00'::timestamptz AS moon, '2024-02-29'::date AS day, 'infinity'::timestamptz AS forever,
           'Zoë 東京 🚀'::text AS s, '8f14e45f-ceea-467f-a0e6-4f1b1c1d2e3f'::uuid AS id, '\x00ff'::bytea AS b,
           '{"a": [1, 2.50, null], "n": 12345678901234567890}'::jsonb AS doc, ARRAY[1, NULL, 3]::int4[] AS ints,
           ARRAY['1.5', 'NaN']::numeric[] AS nums, ARRAY[[1, 2], [3, 4]]::int8[] AS grid, '{}'::text[] AS empty, true AS yes"#,
    )
    .await;
    let expected = json!({
        "neg_zero": 0, "nan": {"$float": "NaN"}, "inf": {"$float": "Infinity"}, "ninf": {"$float": "-Infinity"},
        "max": 9223372036854775807_i64, "min": -9223372036854775808_i64, "small": 7,
        "nnan": {"$float": "NaN"}, "zero": 0, "neg": -1.5,
        "moon": "1969-07-20T20:17:40.123456Z", "day": "2024-02-29", "forever": {"$date": "infinity"},
        "s": "Zoë 東京 🚀", "id": {"$uuid": "8f14e45f-ceea-467f-a0e6-4f1b1c1d2e3f"},
        "b": {"$binary": {"base64": "AP8=", "subType": "00"}},
        "doc": {"a": [1, 2.5, null], "n": 12345678901234567890_u64}, "ints": [1, null, 3],
        "nums": [1.5, {"$float": "NaN"}], "grid": [[1, 2], [3, 4]], "empty": [], "yes": true
    });
    let mut without_wide = row.clone();
    let wide = without_wide
        .as_object_mut()
        .unwrap()
        .remove("wide")
        .unwrap();
    assert_eq!(
        wide.to_string(),
        "12345678901234567890123456789.123456789",
        "every digit of a numeric"
    );
    let found = diff::values(&expected, &without_wide);
    assert!(found.is_equal(), "{:#?}", found.divergences);
}

#[tokio::test]
async fn the_same_values_from_bson_and_postgres_compare_equal() {
    let row = select(
        "SELECT 1::int4 AS one, 2.5::float8 AS half, 1234567890123456789012345678901234::numeric AS wide,
                '2024-03-01 10:00:00.120+00'::timestamptz AS at, '1969-12-31 23:59:59.999+00'::timestamptz AS before,
                '8f14e45f-ceea-467f-a0e6-4f1b1c1d2e3f'::uuid AS id, 'Zoë'::text AS name",
    )
    .await;
    let wide: Decimal128 = "1.234567890123456789012345678901234E+33".parse().unwrap();
    let id = [
        0x8f, 0x14, 0xe4, 0x5f, 0xce, 0xea, 0x46, 0x7f, 0xa0, 0xe6, 0x4f, 0x1b, 0x1c, 0x1d, 0x2e,
        0x3f,
    ];
    let bson = mongodb::bson::doc! {
        "one": Bson::Int64(1), "half": Bson::Decimal128("2.50".parse().unwrap()), "wide": Bson::Decimal128(wide),
        "at": mongodb::bson::DateTime::from_millis(1_709_287_200_120), "before": mongodb::bson::DateTime::from_millis(-1),
        "id": Bson::Binary(Binary { subtype: BinarySubtype::Uuid, bytes: id.to_vec() }), "name": "Zoë",
    };
    let found = diff::values(&to_canonical(&Bson::Document(bson)), &row);
    assert!(found.is_equal(), "{:#?}", found.divergences);
    // Microseconds the legacy store cannot keep are a difference until a precision rule says otherwise.
    let finer = select("SELECT '2024-03-01 10:00:00.120500+00'::timestamptz AS at").await;
    let coarse = to_canonical(&Bson::Document(
        mongodb::bson::doc! { "at": mongodb::bson::DateTime::from_millis(1_709_287_200_120) },
    ));
    assert_eq!(
        diff::values(&coarse, &finer).divergences[0].class,
        diff::Class::Value
    );
}
