//! Arbitrary bytes through the JSON command decoding of the server (`POST /api/v1/cases` and
//! `POST /api/v1/cases/{id}/actions/{action}`): `<action>\n<body>`, or a bare registration body.
//! `ptl_api::fuzzing::decode_input` panics if a body is refused with anything but a 4xx problem;
//! any other panic in the decoding is a finding too.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let status = ptl_api::fuzzing::decode_input(data);
    assert!(status == 0 || status == 200 || (400..500).contains(&status));
});
