//! The transform writer end to end: Wine's hand-written transform, the
//! refusals, and long string references.

use super::*;
use crate::msi::container::Storage;
use crate::msi::schema::{ColumnDef, TableDef};
use crate::msi::PackageKind;

fn moo(extra: bool) -> TableDef {
    let mut cols = vec![ColumnDef::int16("NOO").key(), ColumnDef::string("OOO", 255).nullable()];
    if extra {
        cols.push(ColumnDef::int16("COW").nullable());
        cols.push(ColumnDef::int16("PIG").nullable());
    }
    TableDef::new("MOO", cols)
}

/// The MOO part of Wine's hand-written transform: two appended
/// columns, an update of OOO and PIG, a deleted row.
#[test]
fn records_match_the_hand_written_transform() {
    let mut base = Database::new(PackageKind::Installer);
    for (k, v) in [(1, "a"), (2, "b"), (3, "c")] {
        base.insert(moo(false), vec![k.into(), v.into()]).unwrap();
    }
    let mut target = Database::new(PackageKind::Installer);
    target
        .insert(moo(true), vec![1.into(), "c".into(), Value::Null, 5.into()])
        .unwrap();
    target
        .insert(moo(true), vec![2.into(), "b".into(), Value::Null, Value::Null])
        .unwrap();
    let set = diff(&base, &target).unwrap();
    let t = &set.tables["MOO"];
    assert_eq!(t.shape, TableShape::Extended { first_new: 2 });
    assert_eq!(t.deleted, vec![vec![Value::Int(3)]]);
    assert_eq!(
        t.updated,
        vec![RowUpdate {
            key: vec![1.into()],
            changes: vec![(1, "c".into()), (3, 5.into())]
        }]
    );
    // No category anywhere: no _Validation rows.
    assert!(!set.tables.contains_key(VALIDATION_TABLE));

    let bytes = encode(
        &base,
        &set,
        &TransformOptions {
            validation: Validation::default(),
            ..TransformOptions::settings()
        },
    )
    .unwrap();
    assert_eq!(
        bytes,
        encode(
            &base,
            &set,
            &TransformOptions {
                validation: Validation::default(),
                ..TransformOptions::settings()
            }
        )
        .unwrap()
    );
    assert_eq!(u16::from_le_bytes([bytes[0x1a], bytes[0x1b]]), 3);
    let root = Storage::from_cfb(&bytes).unwrap();
    assert_eq!(root.clsid, PackageKind::Transform.clsid());
    let stream = |n: &str| {
        let raw = &root.streams[&encode_stream_name(n, true)];
        raw.chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect::<Vec<u16>>()
    };
    // Strings: 1 MOO, 2 COW, 3 PIG, 4 c.
    assert_eq!(
        stream("_Columns"),
        [0x0401, 1, 0x8003, 2, 0x9502, 0x0401, 1, 0x8004, 3, 0x9502]
    );
    assert_eq!(stream("MOO"), [0x0000, 0x8003, 0x000a, 0x8001, 4, 0x8005]);
    assert_eq!(stream("_StringPool"), [1252, 0, 3, 2, 3, 1, 3, 1, 1, 1]);
    assert_eq!(root.streams[&encode_stream_name("_StringData", true)], b"MOOCOWPIGc");
    assert!(!root.streams.contains_key(&encode_stream_name("_Tables", true)));
}

#[test]
fn refusals_name_table_and_column() {
    let mut base = Database::new(PackageKind::Installer);
    base.insert(moo(true), vec![1.into(), "a".into(), Value::Null, Value::Null])
        .unwrap();
    let mut fewer = Database::new(PackageKind::Installer);
    fewer.insert(moo(false), vec![1.into(), "a".into()]).unwrap();
    let e = diff(&base, &fewer).unwrap_err().to_string();
    assert!(
        e.contains("table `MOO`") && e.contains("column `COW`") && e.contains("cannot remove"),
        "{e}"
    );

    let mut retyped = Database::new(PackageKind::Installer);
    let mut def = moo(true);
    def.columns[1] = ColumnDef::string("OOO", 72).nullable();
    retyped
        .insert(def, vec![1.into(), "a".into(), Value::Null, Value::Null])
        .unwrap();
    let e = diff(&base, &retyped).unwrap_err().to_string();
    assert!(
        e.contains("table `MOO`") && e.contains("column `OOO`") && e.contains("S255 to S72"),
        "{e}"
    );

    let e = diff(&base, &Database::new(PackageKind::Installer)).unwrap_err().to_string();
    assert!(e.contains("table `MOO`") && e.contains("does not drop tables"), "{e}");
}

#[test]
fn long_string_references_past_65535_strings() {
    let base = Database::new(PackageKind::Installer);
    let mut target = Database::new(PackageKind::Installer);
    let def = TableDef::new("Many", vec![ColumnDef::int32("Id").key(), ColumnDef::string("S", 0)]);
    for i in 0..70_000 {
        target.insert(def.clone(), vec![i.into(), format!("s{i}").into()]).unwrap();
    }
    let set = diff(&base, &target).unwrap();
    let options = TransformOptions {
        validation: Validation::default(),
        ..TransformOptions::settings()
    };
    let root = Storage::from_cfb(&encode(&base, &set, &options).unwrap()).unwrap();
    let pool = &root.streams[&encode_stream_name("_StringPool", true)];
    assert_eq!(u32::from_le_bytes([pool[0], pool[1], pool[2], pool[3]]), 0x8000_0000 | 1252);
    // Strings: Many, Id, S, then s0.. ; a row is mask, i4, 3-byte ref.
    let rows = &root.streams[&encode_stream_name("Many", true)];
    assert_eq!(rows.len(), 70_000 * (2 + 4 + 3));
    assert_eq!(&rows[..9], &[0x01, 0x02, 0x00, 0x00, 0x00, 0x80, 4, 0, 0]);
    let last = &rows[rows.len() - 9..];
    assert_eq!(&last[6..], &(70_003u32).to_le_bytes()[..3]);
}
