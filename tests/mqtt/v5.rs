//! MQTT 5 (`[mqtt] protocol = "5"`): an answer goes to the request's response topic with its
//! correlation data, and the verdict still arrives, signed, on `…/verdict`.

use std::time::Duration;

use rumqttc::v5::mqttbytes::QoS;
use rumqttc::v5::mqttbytes::v5::{Packet, PublishProperties};
use rumqttc::v5::{AsyncClient, Event, MqttOptions};

use crate::harness::{Livegate, Mosquitto, Sub, config, keygen, python_verifies, scratch};
use crate::harness::{MQTT, require};

#[test]
fn mqtt5_answers_on_the_response_topic_with_the_correlation_data() {
    require!(MQTT, &["python3-venv"]);
    let dir = scratch("v5");
    let public = keygen(&dir);
    let broker = Mosquitto::start(&dir, "");
    let sub = Sub::start(broker.port, &["livegate/t1/#"], None, &[]);
    let url = format!("mqtt://127.0.0.1:{}", broker.port);
    let _svc = Livegate::start(&dir, &config(&dir, &url, "protocol = \"5\""));
    sub.wait_for("/availability", |p| p == "online", Duration::from_secs(30));

    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let (payload, correlation) = rt.block_on(async {
        let (client, mut events) =
            AsyncClient::new(MqttOptions::new("ctrl-v5", "127.0.0.1", broker.port), 10);
        client.subscribe("ctrl/reply/#", QoS::AtLeastOnce).await.unwrap();
        let props = PublishProperties {
            response_topic: Some("ctrl/reply/7".into()),
            correlation_data: Some(b"corr-42".to_vec().into()),
            ..PublishProperties::default()
        };
        let start = "livegate/t1/challenge/start";
        let mut sent = false;
        let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
        loop {
            let ev =
                tokio::time::timeout_at(deadline, events.poll()).await.expect("no reply in time").unwrap();
            match ev {
                Event::Incoming(Packet::SubAck(_)) if !sent => {
                    client
                        .publish_with_properties(
                            start,
                            QoS::AtLeastOnce,
                            false,
                            r#"{"request_id":"v5"}"#,
                            props.clone(),
                        )
                        .await
                        .unwrap();
                    sent = true;
                }
                Event::Incoming(Packet::Publish(p)) if &p.topic[..] == b"ctrl/reply/7" => {
                    let corr = p.properties.and_then(|pr| pr.correlation_data).map(|b| b.to_vec());
                    break (String::from_utf8(p.payload.to_vec()).unwrap(), corr);
                }
                _ => {}
            }
        }
    });
    let r: serde_json::Value = serde_json::from_str(&payload).unwrap();
    assert_eq!((r["request_id"].as_str(), r["status"].as_str()), (Some("v5"), Some("ok")), "{r}");
    assert_eq!(correlation.as_deref(), Some(&b"corr-42"[..]));
    // 3.1.1 consumers get the same answer on …/response.
    sub.wait_for("/response", |p| p.contains("\"v5\""), Duration::from_secs(10));
    let verdict = sub.wait_for("/verdict", |_| true, Duration::from_secs(30));
    python_verifies(&verdict, &public).unwrap();
}
